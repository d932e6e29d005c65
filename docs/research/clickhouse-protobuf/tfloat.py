import chdb, random, math, struct, sys, json
sys.path.insert(0, "/work/main/collector")
from firsttoken_collector.otlp.anyvalue import go_float
rng = random.Random(1)
vals = [0.0, -0.0, 1.0, 0.25, 1e-7, 1e-6, 9.99e-7, 1e21, 1e20, 9.9e20, 123456789012345678.0, 1.5e300, 5e-324, 2**53+0.0, 0.1+0.2, -1e-7, 1e22, 1.7976931348623157e308, 1e15, 1e16, 1e17, 123.456, 3.77e-05, float('nan'), float('inf'), float('-inf')]
for _ in range(20000):
    e = rng.choice([rng.uniform(-30, 30), rng.uniform(-320, 308)])
    vals.append(rng.uniform(-1, 1) * 10 ** e)
for _ in range(5000):
    vals.append(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
vals = [v for v in vals]
hexs = [struct.pack("<d", v).hex() for v in vals]
# feed as binary via hex to avoid text parsing issues
arr = "[" + ",".join(f"reinterpretAsFloat64(unhex('{h}'))" for h in hexs) + "]"
open("/tmp/chparse/vals.txt","w").write("\n".join(hexs))
r = chdb.query("SELECT toString(reinterpretAsFloat64(unhex(h))) FROM file('/tmp/chparse/vals.txt','LineAsString','h String')", "TabSeparatedRaw").bytes().decode().split("\n")
diff = {}
for v, c in zip(vals, r):
    g = go_float(v)
    if g != c:
        key = ("e" in g, "e" in c)
        diff.setdefault(key, []).append((repr(v), g, c))
print(len(vals), {k: len(x) for k, x in diff.items()})
for k, x in diff.items():
    print(k, x[:6])
