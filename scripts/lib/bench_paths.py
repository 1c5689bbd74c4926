"""The request paths against the same DynamoDB calls made raw, one load generator for both, in
every CPU layout, with the CPU each process of the stack spent per request.

wrk drives each API route and, at the same concurrency in the same run, the DynamoDB calls the
route makes, in its order, in DynamoDB's own JSON protocol straight to DynamoDB Local:
  GET /products/{id}  against  GetItem of the product's item
  POST /orders        against  the BatchGetItem of the products, the order limit's conditional
                               UpdateItem and the order's conditional PutItem, each round of three
                               counted as one order (a new order looks up no earlier one)
  an order from the cart  against  PUT /cart/items/{id}'s five calls and POST /orders' four, the
                               last a TransactWriteItems (the order's Put, the line's Delete); a
                               round of the two requests (each connection its own customer and
                               cart, one connection a wrk thread so that the two go in order) and a
                               round of the nine calls each count as one order
Every raw call asks for ReturnConsumedCapacity, as the runtime's meter makes every function's call
ask. The stack runs without its stream, queues and schedules (CARTWHEEL_EVENT_SOURCES=off), so no
saga runs in either half of a write pair. After a warm-up of at least 60 s, each layout (every
process on every CPU; the split) runs interleaved raw/API pairs and reports each figure as its
median and range. With --floor, each GET and POST /orders pair also makes the path's calls through
the official SDK alone (examples/sdk_floor.rs, on the runtime's CPUs): the floor the must-holds on
the runtime's CPU are read against. Exits 1 when a must-hold fails. Run it through
scripts/bench-paths.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from bench_load import fixed_rate, layouts, median, sdk_floor, stack_arguments, stack_of, wrk

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "artillery" / "lib"))
import keys  # noqa: E402 (the key formats, from artillery/lib)

SETUP_KEY = f"bench-setup-{time.time_ns()}"
# DynamoDB Local keeps one database per access key and region and does not check signatures;
# the SDK's requests use the same two, so the raw calls reach the same table.
RAW_HEADERS = (
    "Content-Type: application/x-amz-json-1.0\n"
    "X-Amz-Date: 20260101T000000Z\n"
    "Authorization: AWS4-HMAC-SHA256 Credential={key}/20260101/{region}/dynamodb/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64
)
ROLES = ("runtime", "dynamodb", "moto", "wrk")
# Must-holds (issue 24), on the medians. The runtime's CPU per POST /orders before the work on
# it, per layout, measured by this script on this machine on 2026-12-07 (docs/benchmarks.md):
# the work must halve it.
GET_RUNTIME_CPU_MS = 0.12
ORDER_RUNTIME_CPU_BEFORE_MS = {"every process": 1.252, "split": 1.063}
GET_RATIO_UNPINNED, ORDER_RATIO_UNPINNED = 0.65, 0.6
# The open-model runs: these shares of each path's saturation (its median API rate in the layout).
FIXED_RATE_SHARES = (0.5, 0.8)


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
            # The password routes shed the setup's sign-ups and logins with 429: back off and
            # try again, as a client should.
            if error.code != 429 or attempt == 7:
                raise
            time.sleep(float(error.headers.get("retry-after") or 0.2 * 2**attempt))
    raise AssertionError("unreachable")


def login(base, email, password):
    return call(base, "POST", "/auth/login", {"email": email, "password": password})["accessToken"]


ORDER_BODY = lambda product: {  # noqa: E731 (the one body every order request sends)
    "items": [{"productId": product, "quantity": 1}],
    "shippingAddress": {"name": "Bench", "line1": "1 Load St", "city": "Berlin",
                        "postalCode": "10115", "country": "DE"},
    "paymentToken": "tok_visa",
}
CART_ORDER_BODY = {key: value for key, value in ORDER_BODY(None).items() if key != "items"} | {"fromCart": True}
CART_PATH = "PUT /cart/items/{id} + POST /orders from the cart"
PATHS = {"get": "GET /products/{id}", "orders": "POST /orders", "cart": CART_PATH}
# The paths whose calls infra/local-runtime/examples/sdk_floor.rs makes through the SDK alone.
FLOOR_PATHS = {"GET /products/{id}": "get", "POST /orders": "orders"}


def same_length_key(prefix: str, like: str) -> str:
    """A key unique to each round ("{{n}}" filled in by wrk) whose length is the real key's."""
    return prefix + "{{n}}" + "x" * max(0, len(like) - len(prefix) - 24)


TOTAL = {"ReturnConsumedCapacity": "TOTAL"}


def stored(dynamodb, table, pk, sk):
    return dynamodb.get_item(TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}},
                             ConsistentRead=True)["Item"]


def order_item(dynamodb, table, order_id):
    """The order's item; its place is the id's part after the 10-character time prefix."""
    return stored(dynamodb, table, *keys.parts("order", placement=keys.placement(order_id)))


def limit_counter(dynamodb, table, user_id):
    return next(item for item in dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
                if item["PK"]["S"].startswith(keys.prefix("limit_window")) and user_id in item["PK"]["S"])


def get_item(table, pk, sk):
    return ("GetItem", {"TableName": table, "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
                        "ConsistentRead": False, **TOTAL})


def product_batch(table, product):
    return ("BatchGetItem", {"RequestItems": {table: {"Keys": [
        keys.key("product", product=product)]}}, **TOTAL})


def cart_query(table, pk):
    return ("Query", {"TableName": table, "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
                      "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": keys.prefix("cart_line", 1)}}, **TOTAL})


def limit_slot(table, counter):
    """The order limit's conditional UpdateItem, on a counter of its own: the API's keeps its slots."""
    return ("UpdateItem", {"TableName": table, "Key": {"PK": {"S": "BENCH" + counter["PK"]["S"]},
                                                       "SK": counter["SK"]},
                           "UpdateExpression": "ADD hits :one SET expiresAt = :forget",
                           "ConditionExpression": "attribute_not_exists(hits) OR hits < :max",
                           "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": "1000000000"},
                                                         ":forget": {"N": "1800000000"}}, **TOTAL})


def order_steps(table, order, product, counter):
    """POST /orders' three calls, on items the size the API writes: the order the setup placed,
    re-keyed per round so that it is new."""
    place = same_length_key("BENCH#", order["PK"]["S"])
    return [
        product_batch(table, product),
        limit_slot(table, counter),
        ("PutItem", {"TableName": table, "Item": dict(order, PK={"S": place}),
                     "ConditionExpression": "attribute_not_exists(PK)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD", **TOTAL}),
    ]


def cart_order_steps(table, order, line, product, counter):
    """An order from the cart, refill included: PUT /cart/items/{id}'s five calls (the product,
    the empty cart, the line's Put, the cart and its products again for the answer), then POST
    /orders' four (the cart, its products, the limit, and the transaction of the order's Put and
    the line's Delete). The customer's partition and the order's place
    are new each round, with the lengths of the setup's."""
    place = same_length_key("BENCHCART#", order["PK"]["S"])
    customer = same_length_key("BENCHUSER#", line["PK"]["S"])
    line_key = {"PK": {"S": customer}, "SK": line["SK"]}
    transaction = {"TransactItems": [
        {"Put": {"TableName": table, "Item": dict(order, PK={"S": place}),
                 "ConditionExpression": "attribute_not_exists(PK)"}},
        {"Delete": {"TableName": table, "Key": line_key}}], **TOTAL}
    return [
        get_item(table, *keys.parts("product", product=product)),
        cart_query(table, customer),
        ("PutItem", {"TableName": table, "Item": dict(line, **line_key), **TOTAL}),
        cart_query(table, customer),
        product_batch(table, product),
        cart_query(table, customer),
        product_batch(table, product),
        limit_slot(table, counter),
        ("TransactWriteItems", transaction),
    ]


def pairs_of(args, stack, api, dynamodb_url, fixtures):
    """Each path's (raw, API) measurements, as closures of (seconds, run); and the single
    requests of the paths that have one, for the fixed-rate runs."""
    c = args.connections
    f = fixtures
    raw_get = raw_call(args.table, f["product"])
    order_headers = (f"authorization: Bearer {f['token']}\ncontent-type: application/json\n"
                     "idempotency-key: bench-{{n}}")
    # One customer a connection: a cart is the customer's.
    cart_headers = "authorization: Bearer {{t}}\ncontent-type: application/json\nidempotency-key: bench-{{n}}"
    cart_api_steps = [(f"PUT /cart/items/{f['product']}", {"quantity": 1}), ("POST /orders", CART_ORDER_BODY)]
    requests = {
        "GET /products/{id}": {"url": f"{api}/products/{f['product']}"},
        "POST /orders": {"url": f"{api}/orders", "method": "POST", "headers": order_headers,
                         "body": ORDER_BODY(f["product"])},
    }
    return requests, {
        "GET /products/{id}": (
            lambda s, run: wrk(stack, dynamodb_url, s, c, method="POST",
                               headers=f["raw_headers"] + "\nX-Amz-Target: DynamoDB_20120810.GetItem",
                               body=raw_get, run=run),
            lambda s, run: wrk(stack, api, s, c, path=f"/products/{f['product']}", run=run)),
        "POST /orders": (
            lambda s, run: wrk(stack, dynamodb_url, s, c, headers=f["raw_headers"], steps=f["order_steps"],
                               run=run),
            lambda s, run: wrk(stack, api, s, c, method="POST", path="/orders", headers=order_headers,
                               body=ORDER_BODY(f["product"]), run=run)),
        CART_PATH: (
            lambda s, run: wrk(stack, dynamodb_url, s, c, headers=f["raw_headers"], steps=f["cart_steps"],
                               run=run, ordered=True),
            lambda s, run: wrk(stack, api, s, c, headers=cart_headers, steps=cart_api_steps, run=run,
                               ordered=True, thread_values=f["cart_tokens"])),
    }


def raw_call(table, product):
    return get_item(table, *keys.parts("product", product=product))[1]


def customer(api, name):
    """A new customer: (its id, its access token)."""
    email = f"{name}-{time.time_ns()}@bench.local"
    call(api, "POST", "/users", {"email": email, "password": "bench-customer-password", "name": "Bench"})
    token = login(api, email, "bench-customer-password")
    return call(api, "GET", "/users/me", token=token)["id"], token


def setup(api, dynamodb_url, table, connections):
    admin = login(api, os.environ["ADMIN_EMAIL"], os.environ["ADMIN_PASSWORD"])
    user_id, token = customer(api, "bench")
    cart_customers = [customer(api, f"bench-cart{i}") for i in range(connections)]
    first = call(api, "GET", "/products?limit=1")["items"][0]
    product = first["id"]
    stock = {"quantity": 1_000_000_000, "version": first["version"]}
    call(api, "PUT", f"/products/{product}/stock", stock, token=admin)
    region = os.environ.get("AWS_REGION", "us-east-1")
    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_url, region_name=region)
    placed = call(api, "POST", "/orders", ORDER_BODY(product), token=token)
    cart_user, cart_token = cart_customers[0]
    call(api, "PUT", f"/cart/items/{product}", {"quantity": 1}, token=cart_token)
    line = stored(dynamodb, table, *keys.parts("cart_line", user=cart_user, product=product))
    from_cart = call(api, "POST", "/orders", CART_ORDER_BODY, token=cart_token)
    return {
        "product": product, "order": placed["orderId"], "token": token,
        "cart_tokens": [t for _, t in cart_customers],
        "order_steps": order_steps(table, order_item(dynamodb, table, placed["orderId"]), product,
                                   limit_counter(dynamodb, table, user_id)),
        "cart_steps": cart_order_steps(table, order_item(dynamodb, table, from_cart["orderId"]), line, product,
                                       limit_counter(dynamodb, table, cart_user)),
        "raw_headers": RAW_HEADERS.format(key=os.environ.get("AWS_ACCESS_KEY_ID", "offline"), region=region),
    }


def warm(pairs, seconds):
    """DynamoDB Local's JIT: its GetItem rate more than doubles over its first 30 s of load."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for raw, through_api in pairs.values():
            raw(5, f"warm{time.time_ns()}")
            through_api(5, f"warm{time.time_ns()}")
    return time.monotonic() - started


def measure(args, stack, pairs, requests, floors):
    """{layout: {path: [{"raw": result, "api": result}, ...]}}, pairs interleaved: the raw run
    goes first in even pairs and second in odd ones, so a drift cannot favour one side; and
    {layout: {path: [fixed-rate result, ...]}} at each fraction of the path's saturation."""
    found, fixed = {}, {}
    for layout in layouts(os.cpu_count() or 1):
        stack.pin(layout)
        found[layout.name] = measure_pairs(args, pairs, floors, layout)
        fixed[layout.name] = {}
        for path, measured in found[layout.name].items():
            if path not in requests or not args.fixed_seconds:
                continue  # a round of two requests: no single request to send at a fixed rate
            saturation = median([pair["api"]["ok_per_s"] for pair in measured])
            fixed[layout.name][path] = [
                dict(fixed_rate(stack, args.load, rate=share * saturation, seconds=args.fixed_seconds,
                                **requests[path]), share=share)
                for share in FIXED_RATE_SHARES]
    return found, fixed


def measure_pairs(args, pairs, floors, layout):
    """Each path's pairs; with `floors` (path: run), each pair of a path that has one also runs
    its calls through the SDK alone, after the two."""
    found = {path: [] for path in pairs}
    for i in range(args.pairs):
        for path, (raw, through_api) in pairs.items():
            order = [("raw", raw), ("api", through_api)]
            if i % 2:
                order.reverse()
            pair = {side: run(args.seconds, f"{side}{time.time_ns()}") for side, run in order}
            if path in floors:
                pair["sdk"] = floors[path](args.seconds)
                print(f"    {layout.name} | {path} | pair {i + 1}: the SDK alone {pair['sdk']['sdk_ms']:.3f} "
                      f"ms/request", file=sys.stderr)
            found[path].append(pair)
            print(f"    {layout.name} | {path} | pair {i + 1}: raw {pair['raw']['ok_per_s']:.0f}/s, "
                  f"API {pair['api']['ok_per_s']:.0f}/s, ratio {pair['api']['ok_per_s'] / pair['raw']['ok_per_s']:.2f}, "
                  f"runtime {pair['api']['cpu_ms_per_unit']['runtime']:.3f} ms/request, errors raw "
                  f"{pair['raw']['non2xx'] + pair['raw']['socket_errors']}, API "
                  f"{pair['api']['non2xx'] + pair['api']['socket_errors']}", file=sys.stderr)
    return found


def spread(values, digits=0):
    return f"{median(values):.{digits}f} [{min(values):.{digits}f}–{max(values):.{digits}f}]"


def summary(found):
    """Medians and ranges of each layout's pairs, as printed and as checked."""
    table = {}
    for layout, paths in found.items():
        for path, pairs in paths.items():
            row = {"raw_per_s": [p["raw"]["ok_per_s"] for p in pairs],
                   "api_per_s": [p["api"]["ok_per_s"] for p in pairs],
                   "ratio": [p["api"]["ok_per_s"] / p["raw"]["ok_per_s"] for p in pairs],
                   "errors": sum(p[s]["non2xx"] + p[s]["socket_errors"] for p in pairs for s in ("raw", "api"))}
            for side in ("raw", "api"):
                for role in ROLES:
                    row[f"{side}_{role}_ms"] = [p[side]["cpu_ms_per_unit"][role] for p in pairs]
            row["sdk_ms"] = [p["sdk"]["sdk_ms"] for p in pairs if "sdk" in p]
            table[(layout, path)] = row
    return table


def report(table):
    print("\n| layout | path | raw/s | API/s | ratio | errors |\n|---|---|---|---|---|---|")
    for (layout, path), row in table.items():
        print(f"| {layout} | {path} | {spread(row['raw_per_s'])} | {spread(row['api_per_s'])} | "
              f"{spread(row['ratio'], 2)} | {row['errors']} |")
    print("\nCPU per request (ms; median [range]), each process of the stack, raw run / API run:\n")
    print("| layout | path | " + " | ".join(ROLES) + " |\n|---|---|" + "---|" * len(ROLES))
    for (layout, path), row in table.items():
        cells = [f"{spread(row[f'raw_{r}_ms'], 3)} / {spread(row[f'api_{r}_ms'], 3)}" for r in ROLES]
        print(f"| {layout} | {path} | " + " | ".join(cells) + " |")
    floors = [(key, row["sdk_ms"]) for key, row in table.items() if row["sdk_ms"]]
    if floors:
        print("\nThe path's calls through the official SDK alone (examples/sdk_floor.rs), CPU ms per "
              "request, median [range]; the floor under the runtime's:\n")
        print("| layout | path | the SDK alone |\n|---|---|---|")
        for (layout, path), sdk in floors:
            print(f"| {layout} | {path} | {spread(sdk, 3)} |")


def report_fixed(fixed):
    print("\nFixed rate, open model (cartwheel-load; latency from when each request was due):\n")
    print("| layout | path | share of saturation | rate/s | ok/s | errors | p50 ms | p95 ms | p99 ms | max ms | "
          "runtime CPU ms/request |\n|---|---|---|---|---|---|---|---|---|---|---|")
    for layout, paths in fixed.items():
        for path, runs in paths.items():
            for r in runs:
                print(f"| {layout} | {path} | {r['share']:.0%} | {r['rate']:.0f} | {r['ok_per_s']:.0f} | "
                      f"{r['non2xx'] + r['errors']} | {r['p50_us'] / 1000:.1f} | {r['p95_us'] / 1000:.1f} | "
                      f"{r['p99_us'] / 1000:.1f} | {r['max_us'] / 1000:.1f} | "
                      f"{r['cpu_ms_per_unit']['runtime']:.3f} |")


def must_holds(table, order_cpu_before):
    """(what, measured, held) of each must-hold, on the medians."""
    checks = []
    for (layout, path), row in table.items():
        runtime = median(row["api_runtime_ms"])
        floor = f" (the SDK alone: {median(row['sdk_ms']):.3f})" if row["sdk_ms"] else ""
        if path == "GET /products/{id}":
            checks.append((f"{layout}: runtime CPU per GET <= {GET_RUNTIME_CPU_MS} ms", f"{runtime:.3f} ms{floor}",
                           runtime <= GET_RUNTIME_CPU_MS))
        elif path == "POST /orders":
            before = order_cpu_before or next(ms for name, ms in ORDER_RUNTIME_CPU_BEFORE_MS.items()
                                              if layout.startswith(name))
            bound = before / 2
            checks.append((f"{layout}: runtime CPU per POST /orders <= {bound:.3f} ms (half of "
                           f"{before})", f"{runtime:.3f} ms{floor}", runtime <= bound))
        # The cart's round has no must-hold of its own (issue 24 names the two paths): it is
        # reported beside them.
        if layout.startswith("every process") and path != CART_PATH:
            bound = GET_RATIO_UNPINNED if path.startswith("GET") else ORDER_RATIO_UNPINNED
            ratio = median(row["ratio"])
            checks.append((f"{layout}: {path} / its raw calls >= {bound}", f"{ratio:.2f}", ratio >= bound))
        if row["errors"]:
            checks.append((f"{layout}: {path} without errors", str(row["errors"]), False))
    return checks


def main():
    parser = stack_arguments(__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=60, help="seconds of load before the first pair")
    parser.add_argument("--order-cpu-before", type=float, default=None,
                        help="the runtime's ms of CPU per POST /orders before the work on it, in "
                             "every layout (default: this machine's, ORDER_RUNTIME_CPU_BEFORE_MS)")
    parser.add_argument("--fixed-seconds", type=int, default=20, help="seconds of each fixed-rate run (0: none)")
    parser.add_argument("--load", required=True, help="the cartwheel-load binary")
    parser.add_argument("--floor", help="the sdk_floor example's binary: each GET and POST /orders pair "
                        "also runs the path's calls through the SDK alone")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--only", default=",".join(PATHS), help="the paths to measure, of "
                        f"{','.join(PATHS)} (an A/B of one change; the must-holds need get,orders)")
    args = parser.parse_args()
    args.only = [PATHS[name] for name in args.only.split(",")]
    stack = stack_of(args)
    stack.pin(layouts(os.cpu_count() or 1)[0])
    fixtures = setup(args.api, args.dynamodb, args.table, args.connections)
    requests, pairs = pairs_of(args, stack, args.api, args.dynamodb, fixtures)
    pairs = {path: sides for path, sides in pairs.items() if path in args.only}
    floors = {path: (lambda seconds, name=name: sdk_floor(stack, args.floor, name, seconds, fixtures["product"],
                                                          fixtures["order"]))
              for path, name in FLOOR_PATHS.items() if args.floor and path in pairs}
    print(f"==> warming DynamoDB Local and the runtime for {args.warmup} s", file=sys.stderr)
    warmed = warm(pairs, args.warmup)
    print(f"==> {args.pairs} interleaved raw/API pairs of {args.seconds} s per path and layout, "
          f"{args.connections} connections", file=sys.stderr)
    found, fixed = measure(args, stack, pairs, requests, floors)
    table = summary(found)
    report(table)
    report_fixed(fixed)
    checks = must_holds(table, args.order_cpu_before)
    print("\n| must hold | measured | held? |\n|---|---|---|")
    for what, measured, held in checks:
        print(f"| {what} | {measured} | {'yes' if held else '**no**'} |")
    if args.out:
        Path(args.out).write_text(json.dumps({"warmed_s": warmed, "args": vars(args),
                                              "rows": [{"layout": layout, "path": path, **row}
                                                       for (layout, path), row in table.items()],
                                              "fixed_rate": fixed, "must_holds": checks}, indent=2))
    return 0 if all(held for _, _, held in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
