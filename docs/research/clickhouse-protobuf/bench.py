"""Same-run throughput: Python decode + JSONCompactEachRow insert vs ClickHouse-side protobuf parse (chDB in-process).
40 requests x 512 synthetic LLM spans per batch; 3 interleaved rounds; wall and process CPU (incl. chDB threads)."""
import os, random, shutil, sys, time
sys.path.insert(0, "/tmp/chparse"); sys.path.insert(0, "/work/main/collector")
import clickhouse_connect
import chparse
from mkdata import delimited
from firsttoken_collector.synthetic import trace_request
from firsttoken_collector.otlp.decode import decode_request
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from firsttoken_collector.tables import TRACE_COLUMNS

DB = "/tmp/chparse/db_bench"
shutil.rmtree(DB, ignore_errors=True)
c = clickhouse_connect.get_client(dsn=f"chdb://{DB}")
for t in ("t_py", "t_file", "t_mv", "t_hybrid"):
    c.command(chparse.TRACES_DDL.format(name=f"default.{t}"))
c.command(chparse.staging_ddl("default", "t_mv")[0])
c.command(chparse.staging_ddl("default", "t_mv")[1])
# the hybrid path uses its own Null table + MV
c.command(chparse.staging_ddl("default", "t_hybrid")[0].replace("otlp_trace_requests", "otlp_trace_requests_h"))
c.command(chparse.staging_ddl("default", "t_hybrid")[1].replace("otlp_trace_requests", "otlp_trace_requests_h"))
FLAT = open("/tmp/chparse/schemas/otlp_trace_flat.proto").read()
SCHEMA_FILE = "/tmp/chparse/schemas/trace_service.proto"
rng = random.Random(7)
REQS = [trace_request(rng, 512)[0].SerializeToString() for _ in range(40)]
SPANS = 40 * 512
tok = iter(range(10**6))

def py_path():
    blocks = []
    for body in REQS:
        d, _ = decode_request("traces", body, "application/x-protobuf")
        blocks.append(d.blocks["otel_traces"].data)
    t_dec = time.perf_counter()
    c.raw_insert("t_py", list(TRACE_COLUMNS), insert_block=b"".join(blocks), fmt="JSONCompactEachRow",
                 settings={"insert_deduplication_token": f"py{next(tok)}"})
    return t_dec

def file_path():
    path = "/dev/shm/chparse_batch.bin" if os.path.isdir("/dev/shm") else "/tmp/chparse/batch_run.bin"
    with open(path, "wb") as f:
        f.write(delimited(REQS))
    c.command(chparse.insert_from_file("t_file", path),
              settings={**chparse.settings_file(SCHEMA_FILE), "insert_deduplication_token": f"f{next(tok)}"})

def mv_path():
    c.raw_insert("otlp_trace_requests", None, insert_block=delimited(REQS), fmt="Protobuf",
                 settings={**chparse.settings_string(FLAT), "insert_deduplication_token": f"m{next(tok)}"})

def hybrid_path():
    # what the collector still needs per request without Python row building: parse (validates, counts spans)
    total = 0
    for body in REQS:
        m = ExportTraceServiceRequest.FromString(body)
        total += sum(len(ss.spans) for rs in m.resource_spans for ss in rs.scope_spans)
    c.raw_insert("otlp_trace_requests_h", None, insert_block=delimited(REQS), fmt="Protobuf",
                 settings={**chparse.settings_string(FLAT), "insert_deduplication_token": f"h{next(tok)}"})

results = {}
for rnd in range(3):
    for name, fn in (("python decode+JSONCompactEachRow", py_path), ("clickhouse file() INSERT SELECT", file_path),
                     ("clickhouse Null table + MV (raw_insert Protobuf)", mv_path),
                     ("hybrid: py FromString+count, then Null+MV", hybrid_path)):
        w0, c0 = time.perf_counter(), time.process_time()
        extra = fn()
        w1, c1 = time.perf_counter(), time.process_time()
        r = results.setdefault(name, [])
        r.append((w1 - w0, c1 - c0, (extra - w0) if extra else None))
for name, r in results.items():
    best = min(r)
    walls = ", ".join(f"{x[0]:.2f}" for x in r)
    dec = f"; python decode part {best[2]:.2f}s" if best[2] else ""
    print(f"{name:50s} best wall {best[0]:.2f}s = {SPANS / best[0]:8.0f} spans/s | CPU {best[1]:.2f}s = "
          f"{SPANS / best[1]:8.0f} spans/CPU-s | walls [{walls}]{dec}")
print({t: c.query(f"select count() from {t}").result_rows[0][0] for t in ("t_py", "t_file", "t_mv", "t_hybrid")})
print("load:", os.getloadavg())
