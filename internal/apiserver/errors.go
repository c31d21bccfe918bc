package apiserver

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/skiff/skiff/internal/storage"
)

// toStatusError maps an error from storage or a strategy to the API error
// upstream returns for it.
func toStatusError(err error, gr schema.GroupResource, name string) error {
	var se apierrors.APIStatus
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, storage.ErrNotFound):
		return apierrors.NewNotFound(gr, name)
	case errors.Is(err, storage.ErrAlreadyExists):
		return apierrors.NewAlreadyExists(gr, name)
	case errors.Is(err, storage.ErrConflict):
		return apierrors.NewConflict(gr, name, errors.New(conflictMessage))
	case errors.Is(err, storage.ErrCompacted):
		msg := err.Error()
		// Keep upstream's wording and hide datastore keys.
		if i := strings.Index(msg, "too old resource version"); i >= 0 {
			msg = msg[i:]
		} else {
			msg = "too old resource version"
		}
		return apierrors.NewResourceExpired(msg)
	case errors.Is(err, storage.ErrTooLarge):
		return apierrors.NewTimeoutError("Too large resource version: "+err.Error(), 1)
	case errors.Is(err, storage.ErrInvalidContinue):
		return apierrors.NewBadRequest(err.Error())
	}
	return apierrors.NewInternalError(err)
}

const conflictMessage = "the object has been modified; please apply your changes to the latest version and try again"

// writeError answers with the Status for err.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		err = apierrors.NewInternalError(err)
		errors.As(err, &se)
	}
	st := se.Status()
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	if st.Code >= 500 {
		s.log.Info("Request failed", "method", r.Method, "path", r.URL.Path, "code", st.Code, "err", st.Message)
	}
	out, nerr := s.negotiate(r)
	if nerr != nil {
		info, _ := s.serializerFor("application/json")
		out = output{info: info}
	}
	s.writeObject(w, r, out, int(st.Code), &st)
}

func badRequest(format string, args ...interface{}) error {
	return apierrors.NewBadRequest(fmt.Sprintf(format, args...))
}

// unsupportedMediaType is upstream's 415 for a body it cannot decode.
func unsupportedMediaType(mt string) error {
	return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", schema.GroupResource{}, "",
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got %q)", mt), 0, false)
}
