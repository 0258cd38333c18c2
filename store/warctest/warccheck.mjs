// warccheck reads a WARC file with warcio (the JavaScript WARC library of
// Webrecorder) and prints one JSON line per record: its type, target URI,
// offset, headers, the digests its headers give, and SHA-1 digests that
// it computes of the block and of the HTTP payload as warcio parses them.
//
// Usage: node warccheck.mjs NODE_ROOT FILE
//
// NODE_ROOT is the node_modules folder that holds warcio (`npm root -g`
// for a global install): an ES module import does not look in NODE_PATH.
//
// The file is parsed twice: once without HTTP parsing, whose raw content
// is the record's block, and once with it, whose raw content (read with
// readFully(false): not dechunked, not content-decoded) is the payload.
import { createHash } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [root, file] = process.argv.slice(2);
if (!root || !file) {
  console.error("usage: node warccheck.mjs NODE_ROOT FILE");
  process.exit(2);
}

// Import warcio's ES module entry point, as its package.json exports it.
const dir = join(root, "warcio");
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const entry = pkg.exports?.["."]?.default ?? pkg.module ?? pkg.main;
const { WARCParser } = await import(pathToFileURL(join(dir, entry)).href);

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// base32 encodes bytes as RFC 4648 base 32, with padding.
function base32(bytes) {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += alphabet[(value << (5 - bits)) & 31];
  }
  while (out.length % 8 !== 0) {
    out += "=";
  }
  return out;
}

function sha1(bytes) {
  return "sha1:" + base32(createHash("sha1").update(bytes).digest());
}

// records parses file and calls fn with each record and its offset.
async function records(parseHttp, fn) {
  const parser = new WARCParser(createReadStream(file), { parseHttp, keepHeadersCase: true });
  for await (const record of parser) {
    await fn(record, parser.offset);
  }
}

const blocks = [];
await records(false, async (record, offset) => {
  const block = await record.readFully(false);
  blocks.push({ offset, block });
});

let i = 0;
await records(true, async (record, offset) => {
  const payload = await record.readFully(false);
  const { block } = blocks[i] ?? {};
  if (blocks[i]?.offset !== offset) {
    throw new Error(`record ${i}: offset ${offset} with HTTP parsing, ${blocks[i]?.offset} without`);
  }
  const headers = {};
  for (const [name, value] of record.warcHeaders.headers) {
    headers[name] = value;
  }
  console.log(
    JSON.stringify({
      type: record.warcType,
      targetURI: record.warcTargetURI ?? "",
      offset,
      headers,
      payloadDigest: record.warcPayloadDigest ?? "",
      blockDigest: record.warcHeader("WARC-Block-Digest") ?? "",
      blockSHA1: sha1(block),
      payloadSHA1: sha1(payload),
      httpStatus: record.httpHeaders?.statusCode ?? 0,
      payload: Buffer.from(payload).toString("base64"),
    }),
  );
  i++;
});
if (i !== blocks.length) {
  throw new Error(`${i} records with HTTP parsing, ${blocks.length} without`);
}
