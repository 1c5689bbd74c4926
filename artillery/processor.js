// Hooks shared by the experiments in artillery/scenarios. artillery/lib/experiment.py sets the
// environment: REQUEST_LOG (one line per response, for the per-second charts and the invariant
// check), CUSTOMERS (a JSON file of {email, token}), PRODUCT_ID, RUN_SECONDS (baseline loops),
// the waited orders' `Prefer: wait`.
const fs = require("node:fs");
const { randomUUID } = require("node:crypto");

const TERMINAL = new Set(["CONFIRMED", "SHIPPED", "REJECTED", "PAYMENT_FAILED", "CANCELLED"]);
const log = process.env.REQUEST_LOG ? fs.openSync(process.env.REQUEST_LOG, "a") : null;
const customers = process.env.CUSTOMERS ? JSON.parse(fs.readFileSync(process.env.CUSTOMERS, "utf8")) : [];

// One JSON line per event, written at once so that workers' lines never interleave.
function record(fields) {
  if (log !== null) fs.writeSync(log, JSON.stringify({ t: Date.now(), ...fields }) + "\n");
}

// A virtual user is a customer of the run, picked round-robin, with a new Idempotency-Key.
let next = Math.floor(Math.random() * 1e6);
function asCustomer(context, events, done) {
  const customer = customers[next++ % customers.length];
  context.vars.token = customer.token;
  context.vars.productId = process.env.PRODUCT_ID;
  context.vars.idempotencyKey = randomUUID();
  context.vars.startedAt = Date.now();
  context.vars.deadline = Date.now() + Number(process.env.RUN_SECONDS || 0) * 1000;
  return done();
}

// Every response: its time, route, status, latency (the whole response), the order it names, and
// a 429's Retry-After (thresholds.py checks that every order the limit sheds carries one).
function logResponse(req, res, context, events, done) {
  let orderId;
  let status;
  if (req.method === "POST" && (res.statusCode === 200 || res.statusCode === 202)) {
    try {
      ({ orderId, status } = JSON.parse(res.body));
    } catch (_) {
      orderId = undefined;
    }
  }
  // A waited order's final line: what the client waited for the checkout's answer, the call
  // itself. A 202 after the wait is a client that did not get one (TIMEOUT).
  if (context.vars.waited && orderId) {
    const final = res.statusCode === 200 && TERMINAL.has(status);
    record({ route: "order final", status: final ? status : "TIMEOUT", ms: res.timings.phases.total, orderId });
  }
  record({
    route: context.vars.route || `${req.method} ${req.url}`,
    status: res.statusCode,
    // What the client waited: connecting included, as a burst makes new connections.
    ms: res.timings.phases.total,
    orderId,
    retryAfter: res.statusCode === 429 ? res.headers["retry-after"] : undefined,
  });
  return done();
}

function routeOf(name) {
  return (req, context, events, done) => {
    context.vars.route = name;
    return done();
  };
}

// Baseline: a virtual user keeps reading until the level's time is up.
function untilDeadline(context, next) {
  return next(Date.now() < context.vars.deadline);
}

// Sync orders: the same POST, answered when the checkout has (Prefer: wait).
function placeWaitedOrder(req, context, events, done) {
  context.vars.route = "POST /orders";
  context.vars.waited = true;
  return done();
}

module.exports = {
  asCustomer,
  logResponse,
  untilDeadline,
  placeWaitedOrder,
  listProducts: routeOf("GET /products"),
  getProduct: routeOf("GET /products/{id}"),
  listOrders: routeOf("GET /orders"),
  placeOrder: routeOf("POST /orders"),
};
