// Local stand-ins for the outside services Firstline reaches in the browser tests: an SMTP
// server that keeps every mail, and a push service that keeps every Web Push request. Both are
// read back over HTTP by the tests:
//   GET  /mails        -> [{ from, to: [..], data }]      (data: the raw message)
//   POST /push/<id>    <- a Web Push request (answered 201)
//   GET  /pushes       -> [{ path, headers, body }]        (body: base64)
// Ports: SMTP on SINK_SMTP_PORT (default 3525), HTTP on SINK_HTTP_PORT (default 3526).
import net from "node:net";
import http from "node:http";

const smtpPort = Number(process.env.SINK_SMTP_PORT || 3525);
const httpPort = Number(process.env.SINK_HTTP_PORT || 3526);
const mails = [];
const pushes = [];

net
  .createServer((socket) => {
    socket.setEncoding("utf8");
    let buffer = "";
    let mail = { from: "", to: [], data: "" };
    let inData = false;
    const reply = (line) => socket.write(line + "\r\n");
    reply("220 sink ESMTP");
    socket.on("data", (chunk) => {
      buffer += chunk;
      for (;;) {
        const end = buffer.indexOf("\r\n");
        if (end < 0) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            mails.push(mail);
            mail = { from: "", to: [], data: "" };
            reply("250 OK queued");
          } else {
            mail.data += (line.startsWith("..") ? line.slice(1) : line) + "\n";
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") {
          reply("250-sink");
          reply("250 8BITMIME");
        } else if (verb === "MAIL") {
          mail.from = line.slice(10).trim();
          reply("250 OK");
        } else if (verb === "RCPT") {
          mail.to.push(line.slice(8).trim());
          reply("250 OK");
        } else if (verb === "DATA") {
          inData = true;
          reply("354 go ahead");
        } else if (verb === "QUIT") {
          reply("221 bye");
          socket.end();
        } else {
          reply("250 OK");
        }
      }
    });
    socket.on("error", () => {});
  })
  .listen(smtpPort, "127.0.0.1");

http
  .createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const json = (status, value) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (req.method === "GET" && req.url === "/mails") return json(200, mails);
      if (req.method === "GET" && req.url === "/pushes") return json(200, pushes);
      if (req.method === "GET" && req.url === "/ready") return json(200, { ok: true });
      if (req.method === "POST" && req.url.startsWith("/push/")) {
        pushes.push({
          path: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString("base64"),
        });
        res.writeHead(201);
        return res.end();
      }
      json(404, { error: "unknown" });
    });
  })
  .listen(httpPort, "127.0.0.1");
