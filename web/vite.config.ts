// Vite configuration for the bSocial web app.
//
// `npm run build` writes web/dist, which `bsocial serve --static-dir web/dist` serves at
// `/` (same origin as the API: the session cookie and the Origin check just work).
//
// For development, `npm run dev` (and `npm run preview` for the built files) proxy
// /api (HTTP and the notification WebSocket) to a running `bsocial serve`, given by
// BSOCIAL_API (default http://127.0.0.1:8080). The proxy rewrites the browser's Origin
// to the API's own: the server refuses cookie-authenticated writes (and the WebSocket
// handshake) from a foreign Origin, and the dev server's origin is foreign to it.
import { defineConfig, type ProxyOptions } from 'vite';

const api = process.env.BSOCIAL_API ?? 'http://127.0.0.1:8080';

// The headers the real server is expected to send with the HTML (security checklist S12);
// `vite preview` sends them too, so the built app is exercised under the same CSP.
export const securityHeaders: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; " +
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const proxy: Record<string, ProxyOptions> = {
  '/api': {
    target: api,
    changeOrigin: true,
    ws: true,
    configure(p) {
      const origin = new URL(api).origin;
      p.on('proxyReq', (req) => {
        if (req.getHeader('origin')) req.setHeader('origin', origin);
      });
      p.on('proxyReqWs', (req) => {
        if (req.getHeader('origin')) req.setHeader('origin', origin);
      });
    },
  },
};

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { proxy },
  preview: { proxy, headers: securityHeaders },
});
