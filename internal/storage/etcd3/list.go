package etcd3

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/skiff/skiff/internal/storage"
)

// maxPageFetch caps how many keys one etcd range request of a filtered
// list reads.
const maxPageFetch = 10000

// List implements storage.Store.
func (s *Store) List(ctx context.Context, prefix string, opts storage.ListOptions) (storage.ListResult, error) {
	if !opts.Recursive {
		return s.listOne(ctx, prefix, opts)
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	rv, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
	}
	var (
		fromKey = prefix
		withRev int64 // 0 reads the latest revision
		minRev  int64 // checked against the revision read
	)
	switch {
	case opts.Continue != "":
		if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
			return storage.ListResult{}, fmt.Errorf("list %s: resource version is not allowed with continue: %w", prefix, storage.ErrInvalidContinue)
		}
		start, crv, err := decodeContinue(opts.Continue, prefix)
		if err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		fromKey, withRev = start, crv
	case opts.Match == storage.MatchExact:
		if rv == 0 {
			return storage.ListResult{}, fmt.Errorf("list %s: exact match needs a resource version other than 0", prefix)
		}
		withRev = rv
	case opts.Match == "" && rv > 0 && opts.Limit > 0:
		// Upstream's legacy rule: a paged list at a resourceVersion
		// without a match is an exact read.
		withRev = rv
	default:
		minRev = rv
	}

	rangeEnd := clientv3.GetPrefixRangeEnd(prefix)
	limit := opts.Limit
	fetch := limit
	filtering := !opts.Predicate.Empty()
	var (
		res     storage.ListResult
		lastKey string
		more    bool
	)
	for {
		ops := []clientv3.OpOption{clientv3.WithRange(rangeEnd)}
		if fetch > 0 {
			ops = append(ops, clientv3.WithLimit(fetch))
		}
		if withRev > 0 {
			ops = append(ops, clientv3.WithRev(withRev))
		}
		resp, err := s.client.Get(ctx, fromKey, ops...)
		if err != nil {
			err = mapErr(err)
			if withRev > 0 {
				return storage.ListResult{}, fmt.Errorf("list %s at resource version %d: %w", prefix, withRev, err)
			}
			return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		if withRev == 0 {
			withRev = resp.Header.Revision
			if minRev > withRev {
				return storage.ListResult{}, fmt.Errorf("list %s at resource version %d (current %d): %w", prefix, minRev, withRev, storage.ErrTooLarge)
			}
		}
		full := false
		for i, kv := range resp.Kvs {
			lastKey = string(kv.Key)
			obj, err := s.decode(kv.Value, kv.ModRevision)
			if err != nil {
				return storage.ListResult{}, fmt.Errorf("list %s: key %s: %w", prefix, kv.Key, err)
			}
			ok, err := opts.Predicate.Matches(obj)
			if err != nil {
				return storage.ListResult{}, fmt.Errorf("list %s: key %s: %w", prefix, kv.Key, err)
			}
			if ok {
				res.Items = append(res.Items, obj)
			}
			if limit > 0 && int64(len(res.Items)) == limit {
				full = true
				more = resp.More || i < len(resp.Kvs)-1
				if !filtering && more {
					n := resp.Count - int64(i+1)
					res.RemainingItemCount = &n
				}
				break
			}
		}
		if full || !resp.More || limit == 0 {
			break
		}
		fromKey = lastKey + "\x00"
		fetch = min(fetch*2, maxPageFetch)
	}
	res.ResourceVersion = withRev
	if more {
		tok, err := encodeContinue(lastKey+"\x00", prefix, withRev)
		if err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", prefix, err)
		}
		res.Continue = tok
	}
	if res.Items == nil {
		res.Items = []runtime.Object{}
	}
	return res, nil
}

// listOne lists the single key prefix.
func (s *Store) listOne(ctx context.Context, key string, opts storage.ListOptions) (storage.ListResult, error) {
	rv, err := parseRV(opts.ResourceVersion)
	if err != nil {
		return storage.ListResult{}, fmt.Errorf("list %s: %w", key, err)
	}
	var ops []clientv3.OpOption
	if opts.Match == storage.MatchExact && rv > 0 {
		ops = append(ops, clientv3.WithRev(rv))
	}
	resp, err := s.client.Get(ctx, key, ops...)
	if err != nil {
		return storage.ListResult{}, fmt.Errorf("list %s: %w", key, mapErr(err))
	}
	res := storage.ListResult{Items: []runtime.Object{}, ResourceVersion: resp.Header.Revision}
	if len(ops) > 0 {
		res.ResourceVersion = rv
	} else if rv > resp.Header.Revision {
		return storage.ListResult{}, fmt.Errorf("list %s at resource version %d (current %d): %w", key, rv, resp.Header.Revision, storage.ErrTooLarge)
	}
	for _, kv := range resp.Kvs {
		obj, err := s.decode(kv.Value, kv.ModRevision)
		if err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", key, err)
		}
		ok, err := opts.Predicate.Matches(obj)
		if err != nil {
			return storage.ListResult{}, fmt.Errorf("list %s: %w", key, err)
		}
		if ok {
			res.Items = append(res.Items, obj)
		}
	}
	return res, nil
}

// continueToken is upstream's continue token, base64-encoded JSON.
type continueToken struct {
	APIVersion      string `json:"v"`
	ResourceVersion int64  `json:"rv"`
	StartKey        string `json:"start"`
}

const continueVersion = "meta.k8s.io/v1"

// encodeContinue returns the token that resumes a list under prefix at
// key, reading revision rev.
func encodeContinue(key, prefix string, rev int64) (string, error) {
	start, ok := strings.CutPrefix(key, prefix)
	if !ok || start == "" {
		return "", fmt.Errorf("continue key %q is not under %q", key, prefix)
	}
	b, err := json.Marshal(continueToken{APIVersion: continueVersion, ResourceVersion: rev, StartKey: start})
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeContinue returns the key and revision a token resumes at.
func decodeContinue(token, prefix string) (key string, rev int64, err error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", 0, fmt.Errorf("%w: %v", storage.ErrInvalidContinue, err)
	}
	var t continueToken
	if err := json.Unmarshal(b, &t); err != nil {
		return "", 0, fmt.Errorf("%w: %v", storage.ErrInvalidContinue, err)
	}
	if t.APIVersion != continueVersion {
		return "", 0, fmt.Errorf("%w: unsupported version %q", storage.ErrInvalidContinue, t.APIVersion)
	}
	if t.ResourceVersion <= 0 {
		return "", 0, fmt.Errorf("%w: bad resource version %d", storage.ErrInvalidContinue, t.ResourceVersion)
	}
	// The range read ends at the prefix's end, so a start key cannot
	// escape the prefix; rejecting unclean paths is upstream's rule.
	if t.StartKey == "" || path.Clean(t.StartKey) != t.StartKey {
		return "", 0, fmt.Errorf("%w: bad start key", storage.ErrInvalidContinue)
	}
	return prefix + t.StartKey, t.ResourceVersion, nil
}
