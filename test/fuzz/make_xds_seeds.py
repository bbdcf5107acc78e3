#!/usr/bin/env python3
"""Writes the seed corpus of xds_response_fuzz: gRPC response bodies of xDS messages.

Each seed is one flag byte (bit 0: delta protocol) and then 5-byte-prefixed messages, encoded
from protobuf text by `protoc --encode` with the project's own protos. Rerun after changing the
config protos:   python3 test/fuzz/make_xds_seeds.py
"""

import os
import struct
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "test", "fuzz", "corpus", "xds_response")
PROTOS = ["portico/service/discovery/v1/discovery.proto", "portico/config/v1/bootstrap.proto"]
T = "type.googleapis.com/portico.config.v1."

CLUSTER = f"""[{T}Cluster] {{ name: "svc" lb_policy: LEAST_REQUEST
  load_assignment {{ endpoints {{ address {{ address: "127.0.0.1" port: 9001 }} }}
                    endpoints {{ address {{ address: "127.0.0.1" port: 9002 }}
                                 load_balancing_weight: 3 }} }} }}"""
BARE_CLUSTER = f'[{T}Cluster] {{ name: "eds_svc" }}'
ENDPOINTS = f"""[{T}ClusterLoadAssignment] {{ cluster_name: "eds_svc"
  endpoints {{ address {{ address: "127.0.0.1" port: 9003 }} }} }}"""
ROUTES = f"""[{T}RouteConfiguration] {{ name: "dyn_routes"
  virtual_hosts {{ name: "api" domains: "api.example.com" domains: "*.example.org"
    routes {{ match {{ prefix: "/v1/" }} route {{ cluster: "svc" prefix_rewrite: "/" }} }}
    routes {{ match {{ path: "/eds" }} route {{ cluster: "eds_svc" }} }}
    routes {{ match {{ safe_regex: "^/r/[0-9]+$" }} route {{ cluster: "static_backend" }} }} }}
  virtual_hosts {{ name: "rest" domains: "*"
    routes {{ match {{ prefix: "/" }} direct_response {{ status: 404 body: "none" }} }} }} }}"""
LISTENER = f"""[{T}Listener] {{ name: "dyn_ingress"
  address {{ address: "127.0.0.1" port: 10001 }}
  http {{ route_config_name: "dyn_routes" }} }}"""
BAD_CLUSTER = f"""[{T}Cluster] {{ name: "bad"
  load_assignment {{ endpoints {{ address {{ address: "127.0.0.1" port: 70000 }} }} }} }}"""


def encode(message, text):
    done = subprocess.run(
        ["protoc", "-I", os.path.join(ROOT, "api"), "-I", "/usr/include",
         f"--encode=portico.service.discovery.v1.{message}"] + PROTOS,
        input=text.encode(), capture_output=True, check=True)
    return done.stdout


def frame(data):
    return b"\0" + struct.pack(">I", len(data)) + data


def sotw(type_name, version, *resources):
    body = f'version_info: "{version}" type_url: "{T}{type_name}" nonce: "n{version}"\n'
    body += "".join(f"resources {{ {r} }}\n" for r in resources)
    return frame(encode("DiscoveryResponse", body))


def delta(type_name, version, added=(), removed=()):
    body = f'system_version_info: "{version}" type_url: "{T}{type_name}" nonce: "d{version}"\n'
    for name, r in added:
        body += f'resources {{ name: "{name}" version: "{version}" resource {{ {r} }} }}\n'
    body += "".join(f'removed_resources: "{n}"\n' for n in removed)
    return frame(encode("DeltaDiscoveryResponse", body))


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "sotw_one_cluster": b"\0" + sotw("Cluster", "1", CLUSTER),
        "sotw_full_config": b"\2" + sotw("Cluster", "1", CLUSTER, BARE_CLUSTER)
        + sotw("ClusterLoadAssignment", "1", ENDPOINTS) + sotw("Listener", "1", LISTENER)
        + sotw("RouteConfiguration", "1", ROUTES) + sotw("Cluster", "2", CLUSTER),
        "sotw_nack_then_fix": b"\4" + sotw("Cluster", "1", BAD_CLUSTER)
        + sotw("Cluster", "2", CLUSTER),
        "sotw_unknown_type": b"\0" + frame(encode(
            "DiscoveryResponse", f'version_info: "1" type_url: "{T}Nope" nonce: "x"')),
        "delta_add_remove": b"\1"
        + delta("Cluster", "1", [("svc", CLUSTER), ("eds_svc", BARE_CLUSTER)])
        + delta("ClusterLoadAssignment", "1", [("eds_svc", ENDPOINTS)])
        + delta("RouteConfiguration", "1", [("dyn_routes", ROUTES)])
        + delta("Listener", "1", [("dyn_ingress", LISTENER)])
        + delta("Listener", "2", removed=["dyn_ingress"])
        + delta("Cluster", "2", removed=["eds_svc"]),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
