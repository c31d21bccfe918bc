// Package endpoints is the Endpoints controller: for every Service with a
// selector it keeps an Endpoints object of the same name listing the IPs
// of the selected pods, ready ones under addresses and the others under
// notReadyAddresses (all under addresses when the Service publishes
// not-ready addresses), with each Service port resolved per pod (a named
// targetPort is looked up in the pod's container ports).
//
//	Service / Pod / Endpoints events ─▶ service key ─▶ sync ─▶ create, update or delete Endpoints
//
// Services without a selector are left alone: their Endpoints belong to
// the user. Only internal/server constructs the controller; it is safe for
// concurrent use once built.
package endpoints
