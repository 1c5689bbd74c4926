"""Cold starts of one Lambda binary against a minimal Lambda Runtime API (see scripts/bench-init).

Usage: cold_start.py FUNCTION_NAME BINARY EVENT_FILE RUNS WARMUP LOG_PATH
"""
import collections
import http.server
import json
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

name, binary, event_file, runs, warmup, log_path = sys.argv[1:]
runs, warmup = int(runs), int(warmup)
event = Path(event_file).read_bytes()
INVOCATION = "/2018-06-01/runtime/invocation/"


class Run:
    """One cold start: the clock starts just before the process is spawned."""
    def __init__(self):
        self.start, self.request_id = None, str(uuid.uuid4())
        self.init_ms = self.done_ms = self.answer = None
        self.answered, self.killed = threading.Event(), threading.Event()

    def now(self):
        return (time.perf_counter() - self.start) * 1000


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                data += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        r = self.server.run
        if self.path != INVOCATION + "next":
            return self.reply(404, b'{"errorType":"NotFound"}')
        if r.init_ms is not None:  # its second poll: hold it until the process is killed
            r.killed.wait()
            self.close_connection = True
            return
        r.init_ms = r.now()
        self.reply(200, event, [
            ("Lambda-Runtime-Aws-Request-Id", r.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000)),
            ("Lambda-Runtime-Invoked-Function-Arn",
             f"arn:aws:lambda:us-east-1:123456789012:function:{name}"),
            ("Lambda-Runtime-Trace-Id",
             f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"),
        ])

    def do_POST(self):
        r, body = self.server.run, self.body()
        if self.path in (INVOCATION + r.request_id + "/response", INVOCATION + r.request_id + "/error"):
            r.done_ms = r.now()
            if self.path.endswith("/response"):
                r.answer = str(json.loads(body or b"{}").get("statusCode", "answered"))
            else:
                r.answer = "error " + json.loads(body or b"{}").get("errorType", "?")
        elif self.path == "/2018-06-01/runtime/init/error":
            r.answer = "init error " + body.decode(errors="replace")[:200]
        else:
            return self.reply(404, b'{"errorType":"NotFound"}')
        self.reply(202, b'{"status":"OK"}')
        r.answered.set()


class Server(http.server.ThreadingHTTPServer):
    """A Runtime API for one run, on a port of its own, so a late poll never meets the next run."""
    daemon_threads = True

    def __init__(self, run):
        super().__init__(("127.0.0.1", 0), RuntimeApi)
        self.run = run
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()

    def handle_error(self, request, client_address):
        pass  # the killed function's connections break; that is expected



done = []
with open(log_path, "w") as log:
    for i in range(warmup + runs):
        run = Run()
        server = Server(run)
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{server.server_port}",
                   AWS_LAMBDA_FUNCTION_NAME=name, AWS_LAMBDA_FUNCTION_MEMORY_SIZE="256",
                   AWS_LAMBDA_FUNCTION_VERSION="1")
        run.start = time.perf_counter()
        proc = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        while not run.answered.wait(0.01) and proc.poll() is None and run.now() < 30_000:
            pass
        proc.kill()
        proc.wait()
        run.killed.set()
        server.shutdown()
        server.server_close()
        if run.done_ms is None:
            sys.exit(f"{name}: run {i} got no answer ({run.answer or f'exit {proc.returncode}'}); see {log_path}")
        if i >= warmup:
            done.append(run)



def rank(xs, p):
    return sorted(xs)[max(0, math.ceil(p / 100 * len(xs)) - 1)]


print(f"{name}: {len(done)} cold starts (+{warmup} warm-up), answers:",
      dict(collections.Counter(r.answer for r in done)))
print(f"{'ms since spawn':<16}{'p50':>8}{'p90':>8}{'min':>8}{'max':>8}")
for label, xs in (("init", [r.init_ms for r in done]), ("first event", [r.done_ms for r in done])):
    print(f"{label:<16}" + "".join(f"{v:8.1f}" for v in (rank(xs, 50), rank(xs, 90), min(xs), max(xs))))
print("raw init:", " ".join(f"{r.init_ms:.1f}" for r in done))
print("raw first event:", " ".join(f"{r.done_ms:.1f}" for r in done))
