// Package namespace is the namespace controller: it empties namespaces
// being deleted and then lets the API server remove them, as upstream's
// namespace controller does.
//
//	namespace with deletionTimestamp (status.phase Terminating)
//	  ─▶ discover every namespaced resource that supports delete (custom resources included)
//	  ─▶ deletecollection (or list + delete) each one in the namespace
//	  ─▶ anything left? update the deletion conditions, requeue after half the estimate
//	  ─▶ empty: PUT namespaces/{name}/finalize without "kubernetes" in spec.finalizers
//	        (the API server deletes the namespace once no finalizer is left)
//
// Objects that carry finalizers of their own keep the namespace
// Terminating, with condition NamespaceFinalizersRemaining, until they are
// gone. The controller imports only internal/controller and client-go;
// internal/server builds it.
package namespace
