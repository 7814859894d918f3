package server

import "net/http"

// closeAfterTransferEncoding closes the connection after every request that
// came with a Transfer-Encoding. RFC 9112 §6.1: a message with both
// Transfer-Encoding and Content-Length ought to be handled as an error, and
// a server that answers it must close the connection afterwards, or bytes
// a front proxy counted as this request's body run as the next request
// (request smuggling). net/http drops the Content-Length of a chunked
// request before any handler sees it, so the node cannot tell the two
// cases apart and closes after each: a client that chunks an upload opens
// a new connection for its next request.
func closeAfterTransferEncoding(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}
