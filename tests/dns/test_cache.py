"""LabCache: a caching resolver that sees every LabDNS change at once."""

from __future__ import annotations

import threading

import dns.resolver
import pytest

import labkit.dns
from labkit.dns.cache import LabCache

ZONE = """
$ORIGIN c.example.
$TTL 3600
@       IN SOA ns.c.example. hostmaster.c.example. 1 3600 600 86400 300
@       IN NS  ns
ns      IN A   192.0.2.53
@       IN TXT "v=spf1 ip4:192.0.2.1 -all"
www     IN A   192.0.2.80
"""


@pytest.fixture()
def server():
    with labkit.dns.LabDNS(zones=ZONE) as lab:
        yield lab


def asked(lab, name, rdtype):
    return [q for q in lab.queries if q.name.rstrip(".").lower() == name and q.rdtype == rdtype]


def txt(res, name):
    return [b"".join(r.strings).decode() for r in res.resolve(name, "TXT")]


def test_generation_grows_with_every_change(server):
    seen = [server.generation]
    server.add("new.c.example", "A", "192.0.2.9")
    seen.append(server.generation)
    server.remove("new.c.example")
    seen.append(server.generation)
    server.set_fault("www.c.example", "servfail")
    seen.append(server.generation)
    server.clear_faults()
    seen.append(server.generation)
    assert seen == sorted(set(seen)), seen  # strictly increasing
    assert server.remove("never.c.example") == 0
    assert server.generation == seen[-1]  # nothing changed, nothing to flush


def test_repeated_questions_come_from_the_cache(server):
    res = server.resolver(cache=True)
    assert isinstance(res.cache, LabCache)
    first = [txt(res, "c.example") for _ in range(5)]
    assert first == [["v=spf1 ip4:192.0.2.1 -all"]] * 5
    assert len(asked(server, "c.example", "TXT")) == 1
    plain = server.resolver()  # the default stays uncached
    txt(plain, "c.example")
    txt(plain, "c.example")
    assert len(asked(server, "c.example", "TXT")) == 3


def test_added_record_is_seen_immediately(server):
    res = server.resolver(cache=True)
    assert txt(res, "c.example") == ["v=spf1 ip4:192.0.2.1 -all"]
    server.add("c.example", "TXT", '"v=spf1 -all"')
    assert txt(res, "c.example") == ["v=spf1 -all"]


def test_negative_answers_are_not_kept_after_a_change(server):
    res = server.resolver(cache=True)
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("fresh.c.example", "A")
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("fresh.c.example", "A")
    assert len(asked(server, "fresh.c.example", "A")) == 1  # the NXDOMAIN was cached
    server.add("fresh.c.example", "A", "192.0.2.7")
    assert [r.address for r in res.resolve("fresh.c.example", "A")] == ["192.0.2.7"]
    server.remove("fresh.c.example")
    with pytest.raises(dns.resolver.NXDOMAIN):
        res.resolve("fresh.c.example", "A")


def test_faults_show_at_once_and_clear_at_once(server):
    res = server.resolver(timeout=0.5, cache=True)
    assert [r.address for r in res.resolve("www.c.example", "A")] == ["192.0.2.80"]
    server.set_fault("www.c.example", "servfail")
    with pytest.raises(dns.resolver.NoNameservers):
        res.resolve("www.c.example", "A")
    server.clear_faults()
    assert [r.address for r in res.resolve("www.c.example", "A")] == ["192.0.2.80"]


def test_answer_fetched_during_a_change_is_not_stored(server):
    res = server.resolver(cache=True)
    cache = res.cache
    key = (dns.name.from_text("c.example"), dns.rdatatype.TXT, dns.rdataclass.IN)
    answer = res.resolve("c.example", "TXT")
    cache.flush()
    assert cache.get(key) is None  # this thread's look-up starts now ...
    server.add("other.c.example", "A", "192.0.2.5")  # ... the data changes meanwhile ...
    cache.put(key, answer)  # ... so the (possibly old) answer must not be kept
    assert cache.get(key) is None
    cache.put(key, answer)  # a look-up that started after the change may store its answer
    assert cache.get(key) is answer


def test_max_ttl_caps_the_time_kept(server):
    res = server.resolver(cache=True, max_ttl=0.0)
    txt(res, "c.example")
    txt(res, "c.example")
    assert len(asked(server, "c.example", "TXT")) == 2


def test_many_threads_share_one_cached_resolver_while_records_change(server):
    res = server.resolver(cache=True)
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                value = txt(res, "c.example")[0]
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(repr(exc))
                return
            if not value.startswith("v=spf1"):
                errors.append(value)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    for i in range(30):
        server.add("c.example", "TXT", f'"v=spf1 ip4:192.0.2.{i} -all"')
        # once add() returned, every reader's next look-up sees this version
        assert txt(res, "c.example") == [f"v=spf1 ip4:192.0.2.{i} -all"]
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
