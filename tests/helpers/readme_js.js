// tests/helpers/readme_js.js - run one of the README's browser-console
// snippets (tests/cli/readme.bats) in Node, with Debian's node-ws as the
// browser's WebSocket, as a person types it into a console: the lines up
// to the first send at once, the rest once the connection is open (or,
// after a line `// once "welcome" has arrived:`, once the welcome came).
// console.log prints one JSON object a line, so the test can read it.
//
//   node readme_js.js FILE MS [N]  the snippet in FILE, stopped after MS
//                                  ms, or once it printed N lines
"use strict";
const fs = require("fs");
const WebSocket = require("ws");

const [file, ms, most] = process.argv.slice(2);
let printed = 0;
const src = fs.readFileSync(file, "utf8");
const lines = src.split("\n");
const welcomeAt = lines.findIndex((l) => /^\/\/ once "welcome" has arrived:/.test(l));
const sendAt = welcomeAt >= 0 ? welcomeAt : lines.findIndex((l) => /\bws\.send\(/.test(l));
const now = (sendAt >= 0 ? lines.slice(0, sendAt) : lines).join("\n");
const later = sendAt >= 0 ? lines.slice(sendAt).join("\n") : "";
const trigger = welcomeAt >= 0 ?
  `ws.addEventListener("message", function w(e) {
     if (JSON.parse(e.data).type !== "welcome") return;
     ws.removeEventListener("message", w);
     __later();
   });` :
  `ws.addEventListener("open", () => __later());`;
const out = {
  log: (...a) => {
    process.stdout.write(a.map((x) =>
      typeof x === "string" ? x : JSON.stringify(x)).join(" ") + "\n");
    if (most && ++printed >= Number(most)) process.exit(0);
  },
};
// the snippet's own scope: WebSocket and console as a browser has them
new Function("WebSocket", "console",
  `${now}\nconst __later = () => {\n${later}\n};\n${trigger}`)(WebSocket, out);
setTimeout(() => process.exit(0), Number(ms));
