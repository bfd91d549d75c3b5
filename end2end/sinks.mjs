// A local stand-in for the SMTP server Firstline mails through in the browser tests: it keeps
// every mail, and the tests read them back over HTTP:
//   GET  /mails        -> [{ from, to: [..], data }]      (data: the raw message)
// Ports: SMTP on SINK_SMTP_PORT (default 3525), HTTP on SINK_HTTP_PORT (default 3526).
// (push.spec.ts runs its own push service: it decrypts what it receives with its own keys.)
import net from "node:net";
import http from "node:http";

const smtpPort = Number(process.env.SINK_SMTP_PORT || 3525);
const httpPort = Number(process.env.SINK_HTTP_PORT || 3526);
const mails = [];

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
      if (req.method === "GET" && req.url === "/ready") return json(200, { ok: true });
      json(404, { error: "unknown" });
    });
  })
  .listen(httpPort, "127.0.0.1");
