// Gives each virtual user its own Idempotency-Key, so that every request is a new order.
const { randomUUID } = require("node:crypto");

function newIdempotencyKey(context, events, done) {
  context.vars.idempotencyKey = randomUUID();
  return done();
}

module.exports = { newIdempotencyKey };
