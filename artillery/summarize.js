// Turns an Artillery --output report into the figures the README quotes.
const fs = require("node:fs");

const report = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const counters = report.aggregate.counters;
const latency = report.aggregate.summaries["http.response_time"] || {};
const accepted = counters["http.codes.202"] || 0;
const failed = counters["vusers.failed"] || 0;
const phases = report.intermediate || [];
const seconds = (report.aggregate.lastMetricAt - report.aggregate.firstMetricAt) / 1000;
const peak = Math.max(...phases.map((p) => p.rates?.["http.request_rate"] || 0));
console.log(`orders accepted (202): ${accepted}, failed: ${failed}, over ${seconds.toFixed(1)} s`);
console.log(`orders accepted per second: ${(accepted / seconds).toFixed(0)} average, ${peak} peak request rate`);
console.log(`POST /orders latency: p50 ${latency.p50} ms, p95 ${latency.p95} ms, p99 ${latency.p99} ms, max ${latency.max} ms`);
if (failed > 0 || accepted === 0) process.exit(1);
