#!/usr/bin/env python3
"""The `kubernetes` Python client library (the PyPI package; Debian's python3-kubernetes)
against a running `skiff server`: namespaces and configmaps through create, read, list,
patch, replace, delete and watch, with the errors a client relies on.

Usage: kubernetes_client.py --kubeconfig PATH

Exits non-zero on the first failed check. Leaves one configmap, default/from-python, for the
caller to read with another client.
"""

import argparse
import sys
import threading
import uuid

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

CHECKS = 0


def check(cond, what):
    global CHECKS
    if not cond:
        raise AssertionError(what)
    CHECKS += 1


def expect_status(status, call, what):
    try:
        call()
    except ApiException as e:
        check(e.status == status, f"{what}: expected HTTP {status}, got {e.status}: {e.body}")
        return
    raise AssertionError(f"{what}: expected HTTP {status}, the call succeeded")


def configmap(name, data):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)


def watch_until(func, count, **kwargs):
    """(type, name) of the first `count` events of a watch; the server ends the watch after
    timeout_seconds, so a missing event fails instead of hanging."""
    events = []
    w = watch.Watch()
    for ev in w.stream(func, timeout_seconds=15, _request_timeout=30, **kwargs):
        events.append((ev["type"], ev["object"].metadata.name))
        if len(events) == count:
            w.stop()
    return events


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig", required=True)
    args = parser.parse_args()
    config.load_kube_config(config_file=args.kubeconfig)
    v1 = client.CoreV1Api()

    version = client.VersionApi().get_code()
    check(version.git_version.startswith("v1."), f"server version {version.git_version}")

    # Namespaces: create, list (also by label), read.
    ns = "py-" + uuid.uuid4().hex[:8]
    v1.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=ns, labels={"client": "python"}))
    )
    names = [n.metadata.name for n in v1.list_namespace().items]
    check("default" in names and ns in names, f"namespaces listed: {names}")
    labelled = [n.metadata.name for n in v1.list_namespace(label_selector="client=python").items]
    check(labelled == [ns], f"namespaces with client=python: {labelled}")
    check(v1.read_namespace(ns).metadata.labels.get("client") == "python", "namespace labels")
    expect_status(409, lambda: v1.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=ns))), "namespace created twice")

    # Configmaps: create, read, list.
    for i in range(3):
        created = v1.create_namespaced_config_map(ns, configmap(f"cm-{i}", {"i": str(i)}))
        check(created.metadata.uid and int(created.metadata.resource_version) > 0,
              f"server-set metadata of cm-{i}: {created.metadata}")
    cm1 = v1.read_namespaced_config_map("cm-1", ns)
    check(cm1.data == {"i": "1"}, f"cm-1 data: {cm1.data}")
    check(cm1.metadata.namespace == ns, f"cm-1 namespace: {cm1.metadata.namespace}")
    listed = v1.list_namespaced_config_map(ns)
    check(sorted(c.metadata.name for c in listed.items) == ["cm-0", "cm-1", "cm-2"],
          f"configmaps listed: {[c.metadata.name for c in listed.items]}")
    list_rv = listed.metadata.resource_version
    check(int(list_rv) > 0, f"list resourceVersion {list_rv}")
    expect_status(409, lambda: v1.create_namespaced_config_map(ns, configmap("cm-0", {})),
                  "configmap created twice")
    expect_status(404, lambda: v1.read_namespaced_config_map("nope", ns), "missing configmap")
    expect_status(404, lambda: v1.create_namespaced_config_map("no-such-ns", configmap("x", {})),
                  "configmap in a missing namespace")
    expect_status(422, lambda: v1.create_namespaced_config_map(ns, configmap("Bad_Name", {})),
                  "invalid name")

    # Replace with a stale resourceVersion loses; with the current one wins.
    stale = v1.read_namespaced_config_map("cm-2", ns)
    v1.patch_namespaced_config_map("cm-2", ns, {"data": {"i": "2b"}})
    stale.data = {"i": "stale"}
    expect_status(409, lambda: v1.replace_namespaced_config_map("cm-2", ns, stale),
                  "replace with a stale resourceVersion")
    fresh = v1.read_namespaced_config_map("cm-2", ns)
    check(fresh.data == {"i": "2b"}, f"cm-2 after the patch: {fresh.data}")
    fresh.data["j"] = "x"
    replaced = v1.replace_namespaced_config_map("cm-2", ns, fresh)
    check(replaced.data == {"i": "2b", "j": "x"}, f"cm-2 replaced: {replaced.data}")

    # A watch from the list's resourceVersion sees every change after it, in order: the ones
    # made above, then ones made while it streams.
    def later_writes():
        v1.patch_namespaced_config_map("cm-0", ns, {"data": {"i": "0b"}})
        v1.create_namespaced_config_map(ns, configmap("cm-new", {"n": "1"}))
        v1.delete_namespaced_config_map("cm-1", ns)

    writer = threading.Timer(0.5, later_writes)
    writer.start()
    events = watch_until(v1.list_namespaced_config_map, 5, namespace=ns,
                         resource_version=list_rv)
    writer.join()
    check(events == [("MODIFIED", "cm-2"), ("MODIFIED", "cm-2"), ("MODIFIED", "cm-0"),
                     ("ADDED", "cm-new"), ("DELETED", "cm-1")], f"watch events: {events}")

    # A watch without a resourceVersion starts with the current objects as ADDED.
    initial = watch_until(v1.list_namespaced_config_map, 3, namespace=ns)
    check(sorted(initial) == [("ADDED", "cm-0"), ("ADDED", "cm-2"), ("ADDED", "cm-new")],
          f"initial watch events: {initial}")

    # Namespace watch: deleting the namespace ends with its DELETED event.
    ns_rv = v1.list_namespace().metadata.resource_version
    v1.delete_namespace(ns)
    deleted = False
    w = watch.Watch()
    for ev in w.stream(v1.list_namespace, resource_version=ns_rv, timeout_seconds=20,
                       _request_timeout=40):
        if ev["object"].metadata.name == ns and ev["type"] == "DELETED":
            deleted = True
            w.stop()
    check(deleted, f"no DELETED event for namespace {ns}")
    expect_status(404, lambda: v1.read_namespaced_config_map("cm-0", ns),
                  "configmap of a deleted namespace")

    # Something for the caller to read with another client.
    try:
        v1.delete_namespaced_config_map("from-python", "default")
    except ApiException as e:
        if e.status != 404:
            raise
    v1.create_namespaced_config_map("default", configmap("from-python", {"lang": "python"}))

    print(f"python kubernetes client: {CHECKS} checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"python kubernetes client: check failed: {e}", file=sys.stderr)
        sys.exit(1)
