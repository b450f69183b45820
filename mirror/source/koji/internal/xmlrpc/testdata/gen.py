#!/usr/bin/env python3
"""Writes the golden Koji hub responses in this directory.

They are produced by Python's own xmlrpc.client marshaller, the one the
Koji hub uses, with the hub's two settings: allow_none (None is <nil/>)
and integers outside 32 bits written as <i8>. The data has the shape and
field order of Koji 1.35's getLastEvent and listTaggedRPMS(tag,
latest=True, rpmsigs=True) results (kojihub.readTaggedRPMS and
readTaggedBuilds): datetimes are strings, epochs and sigkeys may be None.

Run: python3 gen.py   (written with Python 3.11.7)
"""

import xmlrpc.client as xc

I32 = 2**31


class KojiMarshaller(xc.Marshaller):
    dispatch = dict(xc.Marshaller.dispatch)

    def dump_int(self, value, write):
        if -I32 <= value < I32:
            return xc.Marshaller.dump_int(self, value, write)
        write("<value><i8>%d</i8></value>\n" % value)

    dispatch[int] = dump_int


def dump(params):
    # As xmlrpc.client.dumps(params, methodresponse=True), with our marshaller.
    m = KojiMarshaller("utf-8", allow_none=True)
    return "<?xml version='1.0'?>\n<methodResponse>\n%s</methodResponse>\n" % m.dumps(params)


def rpm(rid, name, version, release, arch, epoch, size, build_id, sigkey, **extra):
    r = {
        "name": name, "version": version, "release": release, "arch": arch,
        "id": rid, "epoch": epoch, "draft": False,
        "payloadhash": "%032x" % (rid * 7919),
        "size": size, "buildtime": 1717000000 + rid,
        "buildroot_id": 9000 + build_id, "build_id": build_id,
        "metadata_only": False, "sigkey": sigkey, "extra": None,
    }
    r.update(extra)
    return r


def build(bid, name, version, release, epoch, volume="DEFAULT"):
    return {
        "tag_id": 2001, "tag_name": "sig-hyperscale9s-packages-main-release",
        "id": bid, "build_id": bid, "version": version, "release": release,
        "epoch": epoch, "state": 1,
        "completion_time": "2024-05-29 10:11:12.345678+00:00",
        "promotion_time": None,
        "start_time": "2024-05-29 10:01:02.123456+00:00",
        "task_id": 4000000 + bid, "draft": False,
        "owner_id": 17, "owner_name": "sig-builder",
        "promoter_id": None, "promoter_name": None,
        "creation_event_id": 3000000 + bid,
        "creation_time": "2024-05-29 10:11:12.345678+00:00",
        "volume_id": 0 if volume == "DEFAULT" else 3, "volume_name": volume,
        "package_id": 500 + bid, "package_name": name, "name": name,
        "nvr": "%s-%s-%s" % (name, version, release),
        "create_event": 3100000 + bid, "extra": None,
    }


rpms = [
    rpm(101, "acme", "1.0", "1.el9s", "x86_64", None, 12345, 11, "8483c65d"),
    rpm(101, "acme", "1.0", "1.el9s", "x86_64", None, 12345, 11, ""),
    rpm(102, "acme", "1.0", "1.el9s", "src", None, 23456, 11, "8483c65d"),
    rpm(103, "acme-data", "1.0", "1.el9s", "noarch", None, 3 * 2**30, 11, None),
    rpm(201, "clock", "2.1", "3.el9s", "aarch64", 2, 54321, 12, "8483c65d",
        extra={"source": {"original_url": "git+https://example.invalid/clock"}}),
    rpm(202, "clock-meta", "2.1", "3.el9s", "noarch", 2, 111, 12, None, metadata_only=True),
]
builds = [
    build(11, "acme", "1.0", "1.el9s", None),
    build(12, "clock", "2.1", "3.el9s", 2, volume="archive"),
]

files = {
    "getLastEvent.xml": dump(({"id": 3412345, "ts": 1717171717.123456},)),
    "listTaggedRPMS.xml": dump(([rpms, builds],)),
    "fault.xml": dump(xc.Fault(1000, "No such tagInfo: 'nope'")),
    "base64.xml": dump(([xc.Binary(b"\x00\xffkoji" * 20), 7, -2**40, 1.5, True, "<&>"],)),
}
for name, text in files.items():
    with open(name, "w") as f:
        f.write(text)
