#!/usr/bin/env python3
"""A/B driver of BENCHMARKS.md ("Measured in this session"): the same
auth-server before and after, on SQLite. Usage: drive.py BINARY LABEL"""
import http.client, json, os, subprocess, sys, tempfile, threading, time, urllib.parse

binary, label = sys.argv[1], sys.argv[2]
DUR = float(os.environ.get("DUR", "8"))
d = tempfile.mkdtemp()
db = f"sqlite://{d}/auth.db"
env = dict(os.environ, RUST_LOG="error", AUTH_DATABASE_URL=db)
def cli(*args, stdin=None):
    return subprocess.run([binary, *args], env=env, input=stdin, capture_output=True, text=True, check=True).stdout
srv = subprocess.Popen([binary, "--bind", "127.0.0.1:0", "serve"], env=env, stdout=subprocess.PIPE, text=True)
addr = None
while addr is None:
    line = srv.stdout.readline()
    if "listening on http://" in line:
        addr = line.split("http://")[1].strip()
host, port = addr.rsplit(":", 1)
cli("users", "add", "bench", "--password-stdin", stdin="correct horse battery staple\n")
cli("clients", "add", "app", "--grant", "password", "--grant", "refresh_token", "--scope", "notes:read", "--audience", "api")

def post(conn, body):
    conn.request("POST", "/oauth/token", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse(); data = r.read()
    return r.status, data
LOGIN = urllib.parse.urlencode({"grant_type": "password", "username": "bench", "password": "correct horse battery staple", "client_id": "app"})
def refresh_body(t): return urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": t, "client_id": "app"})
def vm(key):
    for l in open(f"/proc/{srv.pid}/status"):
        if l.startswith(key): return int(l.split()[1]) // 1024
def pct(xs, q):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0

def run(n, work, dur=DUR):
    lat, codes, lock = [], {}, threading.Lock()
    stop = time.time() + dur
    def worker(i):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        state = work.init(conn, i)
        while time.time() < stop:
            t = time.perf_counter(); code, state = work.step(conn, state); dt = time.perf_counter() - t
            with lock:
                lat.append(dt); codes[code] = codes.get(code, 0) + 1
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    t0 = time.time(); [t.start() for t in ts]; [t.join() for t in ts]
    el = time.time() - t0
    return {"ok_per_s": round(codes.get(200, 0) / el, 1), "codes": codes, "p50_ms": round(pct(lat, .5) * 1e3, 1), "p99_ms": round(pct(lat, .99) * 1e3, 1)}

class Chains:
    def init(self, conn, i):
        code, data = post(conn, LOGIN); return json.loads(data)["refresh_token"]
    def step(self, conn, tok):
        code, data = post(conn, refresh_body(tok))
        return code, (json.loads(data)["refresh_token"] if code == 200 else tok)
class Logins:
    def init(self, conn, i): return None
    def step(self, conn, s):
        code, _ = post(conn, LOGIN); return code, s

out = {"label": label, "rss_start_mib": vm("VmRSS")}
out["refresh_16_chains"] = run(16, Chains())
out["hwm_after_refresh_mib"] = vm("VmHWM")
out["logins_8_clients"] = run(8, Logins())
out["logins_64_clients"] = run(64, Logins())
out["hwm_after_logins_mib"] = vm("VmHWM"); out["rss_after_logins_mib"] = vm("VmRSS")
srv.terminate(); srv.wait()
print(json.dumps(out))
