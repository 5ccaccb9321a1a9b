// GraphiQL from our own bundle (served on GET /graphql for browsers, src/server/ide.ts): works offline, unlike Apollo's
// landing page whose Sandbox loads from a CDN. Queries and mutations go over HTTP POST, subscriptions over graphql-ws
// on the same URL; the Headers tab's values (the API key) go with both.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { apiKey } from "../api.js";

const http = new URL("/graphql", location.href);
const ws = new URL(http);
ws.protocol = location.protocol === "https:" ? "wss:" : "ws:";

const fetcher = createGraphiQLFetcher({ url: http.href, subscriptionUrl: ws.href });

// the dashboard's key (same tab, same origin), so the schema loads without typing it again
const key = apiKey();
const defaultHeaders = JSON.stringify(key ? { authorization: `Bearer ${key}` } : { authorization: "Bearer <API key, if the server needs one>" }, null, 2);

const defaultQuery = `# tunegraph's GraphQL API. Ctrl+Enter runs; the Docs tab (top left) browses the schema.
# The Headers tab below holds the API key (Authorization: Bearer <key>); subscriptions go over graphql-ws.
query Runs {
  trainingRuns(first: 5) {
    nodes { id name status currentStep maxSteps latestLoss }
    totalCount
  }
  models { id name randomWeights }
}
`;

// a link may carry the operation to open (`/graphql?query=...`), as GraphiQL's own examples do
const query = new URLSearchParams(location.search).get("query") ?? undefined;

createRoot(document.getElementById("ide")!).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery,
    ...(query ? { query } : {}),
    defaultHeaders,
    isHeadersEditorEnabled: true,
    defaultEditorToolsVisibility: "headers",
  }),
);
