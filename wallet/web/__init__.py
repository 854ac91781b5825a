"""The citizen PWA: server-rendered pages, the manifest and the service worker."""
