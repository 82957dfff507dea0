// The view's side of MCP Apps (io.modelcontextprotocol/ui, 2026-01-26): JSON-RPC 2.0 over postMessage with the host.
// Inlined into each view when it is served (market_mcp.apps.html), so a view needs nothing from outside.
//   view -> host: ui/initialize (then ui/notifications/initialized), tools/call, ui/notifications/size-changed
//   host -> view: ui/notifications/tool-input, ui/notifications/tool-result, ui/notifications/host-context-changed,
//                 ui/resource-teardown (answered), ping (answered)
const mcpApp = (() => {
  const PROTOCOL_VERSION = "2026-01-26";
  const pending = new Map();
  const handlers = {};
  let nextId = 1;
  let context = {};

  function post(message) {
    window.parent.postMessage({ jsonrpc: "2.0", ...message }, "*");
  }

  function request(method, params) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      post({ id, method, params });
    });
  }

  function notify(method, params) {
    post({ method, params: params || {} });
  }

  function applyContext(changed) {
    context = { ...context, ...changed };
    const root = document.documentElement;
    if (context.theme === "light" || context.theme === "dark") {
      root.dataset.theme = context.theme;
      root.style.colorScheme = context.theme;
    }
    const variables = (context.styles && context.styles.variables) || {};
    for (const [name, value] of Object.entries(variables)) {
      if (name.startsWith("--") && typeof value === "string") root.style.setProperty(name, value);
    }
    if (context.locale) root.lang = context.locale;
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined) {
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      if (message.error) waiting.reject(new Error(message.error.message || "The host refused the request."));
      else waiting.resolve(message.result || {});
      return;
    }
    if (message.method === "ui/notifications/host-context-changed") applyContext(message.params || {});
    if (message.id !== undefined) post({ id: message.id, result: {} }); // ping, ui/resource-teardown: nothing to keep
    const handler = handlers[message.method];
    if (handler) handler(message.params || {});
  });

  let lastSize = "";
  function reportSize() {
    const width = Math.ceil(document.documentElement.scrollWidth);
    const height = Math.ceil(document.documentElement.scrollHeight);
    const size = `${width}x${height}`;
    if (size === lastSize) return;
    lastSize = size;
    notify("ui/notifications/size-changed", { width, height });
  }

  return {
    get context() {
      return context;
    },
    /** Handle host notifications: "tool-input", "tool-result", "tool-cancelled" (the ui/notifications/ prefix). */
    on(name, handler) {
      handlers[`ui/notifications/${name}`] = handler;
    },
    /** The handshake: ui/initialize, the host's context applied, then ui/notifications/initialized. */
    async connect(appInfo) {
      const result = await request("ui/initialize", {
        protocolVersion: PROTOCOL_VERSION,
        appInfo,
        appCapabilities: { availableDisplayModes: ["inline"] },
      });
      applyContext(result.hostContext || {});
      notify("ui/notifications/initialized");
      if (window.ResizeObserver) new ResizeObserver(reportSize).observe(document.body);
      reportSize();
      return result;
    },
    /** tools/call through the host: the tool's CallToolResult (or a rejection if the host refused). */
    callTool(name, args) {
      return request("tools/call", { name, arguments: args || {} });
    },
    /** A result's structured content, or its first text block read as JSON. */
    structured(result) {
      if (result && result.structuredContent) return result.structuredContent;
      const text = ((result && result.content) || []).find((block) => block.type === "text");
      try {
        return text ? JSON.parse(text.text) : null;
      } catch {
        return null;
      }
    },
    /** The words of an error result (isError, or structured content with "error"), or null for a good one. */
    errorOf(result) {
      const data = this.structured(result);
      if (data && typeof data.error === "string") return data.error;
      if (result && result.isError) {
        const text = (result.content || []).find((block) => block.type === "text");
        return text ? text.text : "The tool refused.";
      }
      return null;
    },
  };
})();
