// Package lsp is dream-lsp's language server: it keeps the open documents,
// answers textDocument/inlineCompletion (and textDocument/completion for
// clients without inline completion) from a fill-in-the-middle Engine, fills
// marked holes through a code action and a command, and reports the model's
// state to the client.
//
// # Ordering and concurrency
//
// go.lsp.dev/jsonrpc2 v1.0.1 runs each incoming message on its read loop and
// waits for the handler to return before it reads the next one, unless the
// handler calls jsonrpc2.Async. The server relies on that and owns the
// ordering itself:
//
//   - Lifecycle, text synchronisation, configuration and cancellation run to
//     completion on the read loop, so edits are applied in the order sent.
//   - A request that needs the model (inline completion, completion, fill
//     holes) decodes its params, takes an immutable document snapshot and
//     registers itself as the newest request for its document while still on
//     the read loop, then calls jsonrpc2.Async. Debounce, the cache and
//     inference run after that, concurrently with later messages: a slow model
//     never delays didChange or another document's request.
//   - A newer request for the same document cancels the older one (latest
//     wins), because clients such as Neovim do not cancel superseded requests.
//     A cancelled or superseded request is answered with RequestCancelled
//     (-32800). $/cancelRequest accepts numeric and string ids.
//   - Requests to the client (workspace/configuration, workspace/applyEdit,
//     window/workDoneProgress/create) are only made off the read loop, so they
//     cannot deadlock it.
//
// # Failure
//
// Untrusted input never panics the server: positions outside the document
// answer InvalidParams, malformed notifications are logged and dropped. A
// panic in a handler is recovered at the boundary, logged with its stack and
// answered with InternalError; the connection keeps serving.
//
// The wire extensions (dream/status, the dream.* commands, Copilot-style
// acceptance notifications) are documented in docs/protocol.md.
package lsp
