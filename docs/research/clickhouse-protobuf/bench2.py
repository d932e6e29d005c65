"""Breakdown under the same conditions: where the time goes (5 interleaved rounds, best)."""
import os, random, shutil, sys, time
sys.path.insert(0, "/tmp/chparse"); sys.path.insert(0, "/work/main/collector")
import clickhouse_connect
import chparse
from mkdata import delimited
from firsttoken_collector.synthetic import trace_request
from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.tables import TRACE_COLUMNS
DB = "/tmp/chparse/db_bench2"
shutil.rmtree(DB, ignore_errors=True)
c = clickhouse_connect.get_client(dsn=f"chdb://{DB}")
c.command(chparse.TRACES_DDL.format(name="default.t_mt"))
c.command("CREATE TABLE t_null AS t_mt ENGINE = Null")
SCHEMA = chparse.settings_file("/tmp/chparse/schemas/trace_service.proto")
rng = random.Random(7)
REQS = [trace_request(rng, 512)[0].SerializeToString() for _ in range(40)]
SPANS = 20480
open("/dev/shm/b_all.bin", "wb").write(delimited(REQS))
open("/dev/shm/b_p1.bin", "wb").write(delimited(REQS[:20])); open("/dev/shm/b_p2.bin", "wb").write(delimited(REQS[20:]))
JSON = b"".join(decode_request("traces", b, "application/x-protobuf")[0].blocks["otel_traces"].data for b in REQS)
def py_decode():
    [decode_request("traces", b, "application/x-protobuf") for b in REQS]
def json_insert(t):
    return lambda: c.raw_insert(t, list(TRACE_COLUMNS), insert_block=JSON, fmt="JSONCompactEachRow")
def ch(t, path, dedupe=True):
    sql = f"INSERT INTO {t} ({chparse.COLUMNS})\n" + chparse.transform(f"file('{path}', 'Protobuf', {chparse.sql_literal(chparse.STRUCTURE)})", dedupe)
    return lambda: c.command(sql, settings=SCHEMA)
cases = {"python decode only (no insert)": py_decode,
         "JSONCompactEachRow insert -> MergeTree": json_insert("t_mt"),
         "JSONCompactEachRow insert -> Null engine": json_insert("t_null"),
         "CH parse+transform -> MergeTree": ch("t_mt", "/dev/shm/b_all.bin"),
         "CH parse+transform -> Null engine": ch("t_null", "/dev/shm/b_all.bin"),
         "CH parse+transform (no key dedupe) -> Null": ch("t_null", "/dev/shm/b_all.bin", False),
         "CH parse+transform, 2 files glob -> MergeTree": ch("t_mt", "/dev/shm/b_p{1,2}.bin"),
         }
res = {}
for _ in range(5):
    for k, f in cases.items():
        w, p = time.perf_counter(), time.process_time(); f()
        res.setdefault(k, []).append((time.perf_counter() - w, time.process_time() - p))
for k, r in res.items():
    b = min(r)
    print(f"{k:48s} wall {b[0]:.2f}s ({SPANS/b[0]:7.0f} spans/s)  cpu {min(x[1] for x in r):.2f}s ({SPANS/min(x[1] for x in r):7.0f} spans/CPU-s)  median wall {sorted(x[0] for x in r)[2]:.2f}")
print("load:", os.getloadavg())
