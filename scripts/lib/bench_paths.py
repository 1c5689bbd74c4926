"""The request paths against their raw DynamoDB Local baselines, one load generator for both.

wrk drives each API route and, at the same concurrency in the same run, the DynamoDB call the route
makes, spoken in DynamoDB's own JSON protocol straight to DynamoDB Local:
  GET /products/{id}  against  GetItem of the product's item
  POST /orders        against  TransactWriteItems of two conditional Puts (a copy of an order item
                                and a small record: what the API wrote before 2026-12-03), and
                                against the one conditional PutItem of the order the API writes now
then POST /orders at a fixed rate while the sagas of the orders just placed run, for its p99; and
last, the catalog's revalidation: a conditional GET answered 304 against the same full read.
Run it through scripts/bench-paths, which starts the stack.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3

SETUP_KEY = f"bench-setup-{time.time_ns()}"
WRK_SCRIPT = Path(__file__).with_name("wrk-request.lua")
# DynamoDB Local keeps one database per access key and region and does not check signatures;
# the SDK's requests use the same two, so the raw calls reach the same table.
RAW_HEADERS = (
    "Content-Type: application/x-amz-json-1.0\n"
    "X-Amz-Date: 20260101T000000Z\n"
    "Authorization: AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/dynamodb/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64 + "\n"
    "X-Amz-Target: DynamoDB_20120810.{operation}"
)


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    if method == "POST" and path == "/orders":
        request.add_header("idempotency-key", SETUP_KEY)
    data = json.dumps(body).encode() if body is not None else None
    for attempt in range(8):
        try:
            with urllib.request.urlopen(request, data) as response:
                text = response.read()
            return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            # The argon2 routes' throttle (10 a second) sheds the setup's sign-ups and logins
            # with 429 and no Retry-After: back off and try again, as a client should.
            if error.code != 429 or attempt == 7:
                raise
            time.sleep(float(error.headers.get("retry-after") or 0.2 * 2**attempt))
    raise AssertionError("unreachable")


def etag(base, path):
    with urllib.request.urlopen(base + path) as response:
        return response.headers["etag"]


def wait_final(base, order_id, token, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if call(base, "GET", f"/orders/{order_id}", token=token)["status"] not in OPEN_STATUSES:
            return
        time.sleep(0.5)
    sys.exit(f"order {order_id} was not final after {seconds} s")


def login(base, email, password):
    return call(base, "POST", "/auth/login", {"email": email, "password": password})["accessToken"]


OPEN_STATUSES = {"PENDING", "RESERVED", "PAID"}
ORDER_BODY = lambda product: {  # noqa: E731 (the one body every order request sends)
    "items": [{"productId": product, "quantity": 1}],
    "shippingAddress": {"name": "Bench", "line1": "1 Load St", "city": "Berlin",
                        "postalCode": "10115", "country": "DE"},
    "paymentToken": "tok_visa",
}


def raw_order_writes(dynamodb, table, order_id, user_id):
    """The order item the API's last order wrote, re-keyed so that each request writes a new item
    that neither the saga's pipe (SK ORDER) nor the event publisher (known SKs) picks up; the
    sparse pending-index attributes are left out, so the sweeper never sees it. Answers the one
    conditional PutItem the API makes now, and the two-Put transaction it made before (the order
    and an idempotency record of the size it had)."""
    order = dynamodb.get_item(TableName=table, Key={"PK": {"S": f"ORDER#{order_id[10:]}"},
                                                    "SK": {"S": "ORDER"}}, ConsistentRead=True)["Item"]
    for attribute in ("pendingShard", "pendingSince"):
        order.pop(attribute, None)
    order["PK"] = {"S": "BENCH#{{n}}"}
    order["SK"] = {"S": "BENCH"}
    record = {"PK": {"S": f"BENCHKEY#{user_id}#{{{{n}}}}"}, "SK": {"S": "BENCH"},
              "orderId": {"S": order_id}, "fingerprint": {"S": "0" * 64}, "expiresAt": {"N": "1800000000"}}
    condition = "attribute_not_exists(PK)"
    put = lambda item: {"Put": {"TableName": table, "Item": item,  # noqa: E731
                                "ConditionExpression": condition}}
    return ({"TableName": table, "Item": order, "ConditionExpression": condition},
            {"TransactItems": [put(order), put(record)]})


def wrk(url, seconds, connections, method="GET", path="/", headers="", body=None, rate=None, run="r"):
    threads = min(2, connections)
    env = dict(os.environ, WRK_METHOD=method, WRK_PATH=path, WRK_HEADERS=headers, WRK_RUN=run,
               WRK_THREADS=str(threads))
    if body is not None:
        body_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"wrk-body-{os.getpid()}-{run}.json"
        body_file.write_text(json.dumps(body))
        env["WRK_BODY_FILE"] = str(body_file)
    if rate:
        env["WRK_RATE"] = str(rate)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
                          "-s", str(WRK_SCRIPT), url], env=env, capture_output=True, text=True, check=True)
    line = next(l for l in out.stdout.splitlines() if l.startswith("WRK_JSON "))
    result = json.loads(line[len("WRK_JSON "):])
    seconds_run = result["duration_us"] / 1e6
    result["ok_per_s"] = (result["requests"] - result["non2xx"]) / seconds_run
    return result


def row(name, r):
    return (f"| {name} | {r['ok_per_s']:.0f} | {r['non2xx'] + r['socket_errors']} | "
            f"{r['p50_us'] / 1000:.1f} | {r['p99_us'] / 1000:.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True)
    parser.add_argument("--dynamodb", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rate", type=int, default=50, help="orders/s of the paced run")
    parser.add_argument("--warmup", type=int, default=20,
                        help="seconds of each case run first and not counted (DynamoDB Local's JIT)")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args()
    api, c = args.api, args.connections

    admin = login(api, os.environ["ADMIN_EMAIL"], os.environ["ADMIN_PASSWORD"])
    email = f"bench-{time.time_ns()}@bench.local"
    call(api, "POST", "/users", {"email": email, "password": "bench-customer-password", "name": "Bench"})
    token = login(api, email, "bench-customer-password")
    me = call(api, "GET", "/users/me", token=token)
    first = call(api, "GET", "/products?limit=1")["items"][0]
    product = first["id"]
    stock = {"quantity": 1_000_000_000, "version": first["version"]}
    call(api, "PUT", f"/products/{product}/stock", stock, token=admin)
    placed = call(api, "POST", "/orders", ORDER_BODY(product), token=token)
    # Its saga changes the product's stock, and so the product's tag the revalidation cases use.
    wait_final(api, placed["orderId"], token)

    key = os.environ.get("AWS_ACCESS_KEY_ID", "offline")
    region = os.environ.get("AWS_REGION", "us-east-1")
    raw = lambda op: RAW_HEADERS.format(key=key, region=region, operation=op)  # noqa: E731
    get_item = {"TableName": args.table, "Key": {"PK": {"S": f"PRODUCT#{product}"}, "SK": {"S": "PRODUCT"}}}
    dynamodb = boto3.client("dynamodb", endpoint_url=args.dynamodb, region_name=region)
    put_order, transaction = raw_order_writes(dynamodb, args.table, placed["orderId"], me["id"])
    order_headers = (f"authorization: Bearer {token}\ncontent-type: application/json\n"
                     "idempotency-key: bench-{{n}}")
    cases = [
        ("raw GetItem", lambda s, run: wrk(args.dynamodb, s, c, "POST", "/", raw("GetItem"), get_item, run=run)),
        ("GET /products/{id}", lambda s, run: wrk(api, s, c, path=f"/products/{product}", run=run)),
        # DynamoDB Local's GetItem rate drifts by ±15 % from one run to the next; the ratio takes
        # the faster of the two raw runs around the API's, so drift cannot flatter the API.
        ("raw GetItem, again", lambda s, run: wrk(args.dynamodb, s, c, "POST", "/", raw("GetItem"), get_item, run=run)),
        ("raw TransactWriteItems (2 Puts)", lambda s, run: wrk(args.dynamodb, s, c, "POST", "/", raw("TransactWriteItems"),
                                                        transaction, run=run)),
        ("raw PutItem (the order, conditional)", lambda s, run: wrk(args.dynamodb, s, c, "POST", "/", raw("PutItem"),
                                                             put_order, run=run)),
        ("POST /orders", lambda s, run: wrk(api, s, c, "POST", "/orders", order_headers, ORDER_BODY(product), run=run)),
        (f"POST /orders at {args.rate}/s, sagas running",
         lambda s, run: wrk(api, s, min(c, 10), "POST", "/orders", order_headers, ORDER_BODY(product),
                     rate=args.rate, run=run)),
    ]
    # Before the orders: their sagas change the product's stock, and so its tag.
    listing = "/products?limit=100"
    def revalidated(path, tag, seconds, run):
        result = wrk(api, seconds, c, path=path, headers=f"if-none-match: {tag}", run=run)
        if etag(api, path) != tag:
            sys.exit(f"{path} changed during its revalidation run, so some answers were full reads")
        return result

    revalidations = []
    for path in (f"/products/{product}", listing):
        tag = etag(api, path)
        revalidations += [
            (f"GET {path}, full read", lambda s, run, path=path: wrk(api, s, c, path=path, run=run)),
            (f"GET {path}, revalidated (304)", lambda s, run, path=path, tag=tag: revalidated(path, tag, s, run)),
        ]
    cases[3:3] = revalidations
    results = {}
    for name, measure in cases:
        print(f"==> {name}: {args.warmup} s warm-up, {args.seconds} s at {c if 'at ' not in name else min(c, 10)} connections", file=sys.stderr)
        if args.warmup:
            measure(args.warmup, f"warm{time.time_ns()}")
        results[name] = measure(args.seconds, f"run{time.time_ns()}")
    raw_get = max(results["raw GetItem"]["ok_per_s"], results["raw GetItem, again"]["ok_per_s"])
    get_ratio = results["GET /products/{id}"]["ok_per_s"] / raw_get
    order_ratio = results["POST /orders"]["ok_per_s"] / results["raw TransactWriteItems (2 Puts)"]["ok_per_s"]
    put_ratio = results["POST /orders"]["ok_per_s"] / results["raw PutItem (the order, conditional)"]["ok_per_s"]
    print(f"\n| path | ok/s | errors | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(row(name, r))
    print(f"\nGET /products/{{id}} / the faster raw GetItem: {get_ratio:.2f} (must hold: >= 0.85)")
    print(f"POST /orders / raw TransactWriteItems: {order_ratio:.2f} (must hold: >= 0.70)")
    print(f"POST /orders / raw PutItem of the order: {put_ratio:.2f}")
    paced = results[f"POST /orders at {args.rate}/s, sagas running"]
    print(f"POST /orders p99 at {args.rate}/s with sagas running: {paced['p99_us'] / 1000:.1f} ms (must hold: < 100)")
    print("\n| revalidation | ok/s | bytes per answer | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for path in (f"/products/{product}", listing):
        for variant in ("full read", "revalidated (304)"):
            r = results[f"GET {path}, {variant}"]
            print(f"| GET {path}, {variant} | {r['ok_per_s']:.0f} | {r['bytes'] / max(r['requests'], 1):.0f} | "
                  f"{r['p50_us'] / 1000:.1f} | {r['p99_us'] / 1000:.1f} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"results": results, "get_ratio": get_ratio,
                                              "order_ratio": order_ratio, "put_ratio": put_ratio}, indent=2))


if __name__ == "__main__":
    main()
