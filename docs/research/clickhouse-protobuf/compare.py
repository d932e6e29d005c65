"""Row equality: ClickHouse-parse path vs the Python decoder, same requests, two tables, compared column by column."""
import random, shutil, sys, os
sys.path.insert(0, "/tmp/chparse"); sys.path.insert(0, "/work/main/collector")
import clickhouse_connect
import chparse, edge
from mkdata import delimited
from firsttoken_collector.synthetic import trace_request
from firsttoken_collector.otlp.decode import decode_request
from firsttoken_collector.tables import TRACE_COLUMNS

DB = "/tmp/chparse/db_compare"
shutil.rmtree(DB, ignore_errors=True)
c = clickhouse_connect.get_client(dsn=f"chdb://{DB}")
for t in ("otel_traces_ch", "otel_traces_py"):
    c.command(chparse.TRACES_DDL.format(name=f"default.{t}"))
rng = random.Random(7)
reqs = [trace_request(rng, 512, start_ns=1_763_000_000_000_000_000)[0].SerializeToString() for _ in range(4)]
reqs.append(edge.edge_request().SerializeToString())
# Python path
py_rows = py_rejected = 0
for body in reqs:
    d, _ = decode_request("traces", body, "application/x-protobuf")
    py_rejected += d.rejected
    for table, block in d.blocks.items():
        c.raw_insert("otel_traces_py", list(TRACE_COLUMNS), insert_block=block.data, fmt="JSONCompactEachRow")
        py_rows += block.rows
# ClickHouse path
path = "/tmp/chparse/compare.bin"
open(path, "wb").write(delimited(reqs))
summary = c.command(chparse.insert_from_file("otel_traces_ch", path), settings=chparse.settings_file("/tmp/chparse/schemas/trace_service.proto"))
print("python rows", py_rows, "rejected", py_rejected, "| clickhouse written_rows", summary.written_rows)
cols = [x if "." not in x else f"`{x}`" for x in TRACE_COLUMNS]
diff_total = 0
for col in cols:
    # compare Maps order-insensitively as sorted (k, v) arrays
    norm = lambda x: f"arraySort(CAST({x}, 'Array(Tuple(String, String))'))" if "Attributes" in x and "Events" not in x and "Links" not in x else (
        f"arrayMap(m -> arraySort(CAST(m, 'Array(Tuple(String, String))')), {x})" if "Attributes" in x else x)
    q = f"""SELECT SpanId, p.v AS py, h.v AS ch FROM
      (SELECT SpanId, {norm(col)} AS v FROM otel_traces_py) AS p
      FULL OUTER JOIN (SELECT SpanId, {norm(col)} AS v FROM otel_traces_ch) AS h USING SpanId
      WHERE p.v != h.v OR p.SpanId = '' OR h.SpanId = '' ORDER BY SpanId"""
    rows = c.query(q, settings={"join_use_nulls": 1}).result_rows
    if rows:
        diff_total += len(rows)
        print(f"--- {col}: {len(rows)} differing rows")
        for r in rows[:3]:
            if isinstance(r[1], list) and r[1] and isinstance(r[1][0], tuple):  # show only differing map entries
                a, b = dict(r[1]), dict(r[2])
                print("   ", r[0], {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)})
            else:
                print("   ", r)
# raw map view of duplicates, for the report
print("dup key, python:", c.query("SELECT SpanAttributes['dup'], length(mapKeys(SpanAttributes)) FROM otel_traces_py WHERE SpanName='edge0'").result_rows,
      "clickhouse:", c.query("SELECT SpanAttributes['dup'], length(mapKeys(SpanAttributes)) FROM otel_traces_ch WHERE SpanName='edge0'").result_rows)
print("total differing (column,row) pairs:", diff_total)
