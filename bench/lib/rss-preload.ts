/** Loaded with `node --import` into a measured child: writes its peak RSS (bytes) to $TUNEGRAPH_RSS_FILE on exit. */
import { writeFileSync } from "node:fs";

const file = process.env.TUNEGRAPH_RSS_FILE;
if (file) process.on("exit", () => writeFileSync(file, String(process.resourceUsage().maxRSS * 1024)));
