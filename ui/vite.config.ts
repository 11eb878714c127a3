import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The build goes into dist/, which the server embeds; `npm run dev` proxies the API to a
// local seqr so the UI can be worked on with hot reload.
export default defineConfig({
  plugins: [preact()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false } },
  server: { proxy: { "/api": "http://127.0.0.1:5341" } },
});
