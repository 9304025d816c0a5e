// pre-receive hook for the tests' bare "GitHub" remote: the GitHub emulator has no git smart-HTTP, so
// every push to the bare remote is mirrored into the emulator through the Git Data API (blobs, trees,
// commits, refs) before the remote accepts it. The emulator computes real git object ids; each one is
// checked against the local id, so pull requests reference exactly the commits that were pushed.
//
// Configuration (git config of the bare repository):
//   omk-test.mirror-api   http://127.0.0.1:PORT/repos/OWNER/NAME
//   omk-test.mirror-token any token (the emulator accepts any)
// Objects already mirrored are listed in `omk-mirrored` inside the bare repository.
import { execFileSync } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ZERO = "0".repeat(40);
const git = (args, encoding = "utf8") =>
  execFileSync("git", args, { encoding, maxBuffer: 1 << 28 });
const config = (key) => git(["config", "--get", key]).trim();

const api = config("omk-test.mirror-api");
const token = config("omk-test.mirror-token");
const gitDir = git(["rev-parse", "--git-dir"]).trim();
const doneFile = join(gitDir, "omk-mirrored");
const done = new Set(existsSync(doneFile) ? readFileSync(doneFile, "utf8").split("\n").filter(Boolean) : []);

async function call(method, path, body) {
  const res = await fetch(api + path, {
    method,
    headers: { authorization: `token ${token}`, "content-type": "application/json", accept: "application/vnd.github+json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null, text };
}

async function create(path, body, expected) {
  const res = await call("POST", path, body);
  if (res.status >= 300 || res.json.sha !== expected) {
    throw new Error(`mirror: POST ${path} for ${expected} gave ${res.status} ${res.text}`);
  }
  done.add(expected);
  appendFileSync(doneFile, expected + "\n");
}

async function blob(sha) {
  if (done.has(sha)) return;
  const content = git(["cat-file", "blob", sha], "buffer").toString("base64");
  await create("/git/blobs", { content, encoding: "base64" }, sha);
}

async function tree(sha) {
  if (done.has(sha)) return;
  const entries = [];
  for (const line of git(["ls-tree", sha]).split("\n").filter(Boolean)) {
    const [meta, path] = line.split("\t");
    const [mode, type, id] = meta.split(" ");
    if (type === "blob") await blob(id);
    else if (type === "tree") await tree(id);
    else continue; // submodules are not mirrored
    entries.push({ path, mode, type, sha: id });
  }
  await create("/git/trees", { tree: entries }, sha);
}

function identity(line) {
  const m = line.match(/^(.*) <(.*)> (\d+) ([+-])(\d\d)(\d\d)$/);
  const local = new Date((Number(m[3]) + (m[4] === "-" ? -1 : 1) * (Number(m[5]) * 3600 + Number(m[6]) * 60)) * 1000);
  const date = local.toISOString().replace(/\.\d{3}Z$/, `${m[4]}${m[5]}:${m[6]}`);
  return { name: m[1], email: m[2], date };
}

async function commit(sha) {
  if (done.has(sha)) return;
  const raw = git(["cat-file", "commit", sha]);
  const split = raw.indexOf("\n\n");
  const headers = raw.slice(0, split).split("\n");
  const message = raw.slice(split + 2);
  const value = (name) => headers.filter((h) => h.startsWith(name + " ")).map((h) => h.slice(name.length + 1));
  const [treeSha] = value("tree");
  await tree(treeSha);
  const body = {
    message,
    tree: treeSha,
    parents: value("parent"),
    author: identity(value("author")[0]),
    committer: identity(value("committer")[0]),
  };
  await create("/git/commits", body, sha);
}

async function ref(name, sha) {
  const short = name.replace(/^refs\//, "");
  const existing = await call("GET", `/git/ref/${short}`);
  const res = existing.status === 200
    ? await call("PATCH", `/git/refs/${short}`, { sha, force: true })
    : await call("POST", "/git/refs", { ref: name, sha });
  if (res.status >= 300 && name.startsWith("refs/heads/")) {
    throw new Error(`mirror: ref ${name} → ${sha} gave ${res.status} ${res.text}`);
  }
}

const input = readFileSync(0, "utf8").split("\n").filter(Boolean);
try {
  for (const line of input) {
    const [, next, name] = line.split(" ");
    if (next === ZERO) continue;
    for (const sha of git(["rev-list", "--topo-order", "--reverse", next]).split("\n").filter(Boolean)) {
      await commit(sha);
    }
    await ref(name, next);
  }
} catch (e) {
  console.error(String(e.message || e));
  process.exit(1);
}
