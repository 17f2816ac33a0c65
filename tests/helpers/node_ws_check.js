// tests/helpers/node_ws_check.js - the watch party driven by Node's `ws`
// (Debian's node-ws), an independent client, against a real server.
//
//   node node_ws_check.js URL plain|deflate
//
// Two members join; the host's sync reaches the other member; a long chat
// (compressed by ws when deflate is negotiated) and a short one reach both;
// both close normally. Exits 0, or 1 with the reason on stderr. Every wait
// is bounded.
"use strict";
const WebSocket = require("ws");

const [url, mode] = process.argv.slice(2);
const deflate = mode === "deflate";
const party = `node-${mode}-${process.pid}`;

function fail(why) {
  console.error(`FAIL: ${why}`);
  process.exit(1);
}
setTimeout(() => fail("timed out"), 10000).unref();

function join(name) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/ws/party/${party}?name=${name}`, "revenge.v1",
      { perMessageDeflate: deflate });
    const inbox = [];
    const waiters = [];
    ws.on("message", (data, isBinary) => {
      if (isBinary) fail("binary frame from the server");
      const m = JSON.parse(data.toString("utf8"));
      const i = waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
      else inbox.push(m);
    });
    ws.on("error", reject);
    ws.on("unexpected-response", (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.next = (type) => {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
      return new Promise((res) => waiters.push({ type, resolve: res }));
    };
    ws.on("open", () => resolve(ws));
  });
}

function send(ws, type, payload) {
  ws.send(JSON.stringify({ type, payload }));
}

async function main() {
  const ann = await join("ann");
  const ext = ann.extensions || "";
  if (deflate !== ext.includes("permessage-deflate"))
    fail(`deflate ${deflate}, negotiated "${ext}"`);
  if (ann.protocol !== "revenge.v1") fail(`subprotocol "${ann.protocol}"`);
  const welcome = await ann.next("welcome");
  if (welcome.payload.role !== "host" || welcome.payload.host_id !== welcome.payload.participant_id)
    fail(`first member is not the host: ${JSON.stringify(welcome.payload)}`);
  const bob = await join("bob");
  const bw = await bob.next("welcome");
  if (bw.payload.role !== "member" || bw.payload.members.length !== 2)
    fail(`second welcome: ${JSON.stringify(bw.payload)}`);
  await ann.next("member_joined");

  send(ann, "sync", { position: 42.5, playing: true, speed: 1 });
  const sync = await bob.next("sync");
  if (sync.payload.position !== 42.5 || sync.payload.playing !== true)
    fail(`sync relayed as ${JSON.stringify(sync.payload)}`);

  // long enough that ws compresses it and the server's copy is compressed
  const long = "watch together ".repeat(100);
  send(bob, "chat", { text: long });
  for (const ws of [ann, bob]) {
    const m = await ws.next("chat");
    if (m.payload.text !== long) fail("long chat garbled");
  }
  send(ann, "chat", { text: "short" });
  for (const ws of [ann, bob]) {
    const m = await ws.next("chat");
    if (m.payload.text !== "short") fail("short chat garbled");
  }
  for (const ws of [ann, bob]) {
    await new Promise((resolve) => {
      ws.on("close", (code) => {
        if (code !== 1000) fail(`closed with ${code}`);
        resolve();
      });
      ws.close(1000, "bye");
    });
  }
  console.log(`ok: ${mode}, extensions "${ext}"`);
}

main().catch((e) => fail(e.message));
