package etcd

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// TestWatchesCancelWhileEventsPileUp cancels many watches sharing one
// stream while their events pile up unread: the case in which etcd's own
// in-process adapter deadlocked (the client blocked sending a cancel, the
// server blocked sending events).
func TestWatchesCancelWhileEventsPileUp(t *testing.T) {
	srv := startTest(t, t.TempDir())
	cli, err := srv.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	const watches = 20
	shared := clientv3.WithRequireLeader(ctx) // one stream for all, as the storage layer does
	var chans []clientv3.WatchChan
	var cancels []context.CancelFunc
	for range watches {
		wctx, wcancel := context.WithCancel(shared)
		cancels = append(cancels, wcancel)
		chans = append(chans, cli.Watch(wctx, "/w/", clientv3.WithPrefix(), clientv3.WithPrevKV()))
	}
	// One watch is read, to know that events flow; the others are not.
	for i := range 300 {
		if _, err := cli.Put(ctx, fmt.Sprintf("/w/%03d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case resp := <-chans[0]:
		if len(resp.Events) == 0 {
			t.Fatalf("first response has no events: %+v", resp)
		}
	case <-ctx.Done():
		t.Fatal("no watch event arrived")
	}

	var wg sync.WaitGroup
	for i := range watches {
		cancels[i]()
		wg.Go(func() {
			for range chans[i] {
			}
		})
	}
	closed := make(chan struct{})
	go func() { wg.Wait(); close(closed) }()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("cancelled watches did not close their channels")
	}

	// The stream still serves new watches after all that.
	w := cli.Watch(clientv3.WithRequireLeader(ctx), "/after")
	if _, err := cli.Put(ctx, "/after", "v"); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-w:
		if len(resp.Events) != 1 || string(resp.Events[0].Kv.Value) != "v" {
			t.Fatalf("got %+v, want the put", resp)
		}
	case <-ctx.Done():
		t.Fatal("a watch after the cancellations saw nothing")
	}
}

// TestWatchCompaction checks a non-event response the storage layer
// relies on: a watch from a compacted revision is told so.
func TestWatchCompaction(t *testing.T) {
	srv := startTest(t, t.TempDir())
	cli, err := srv.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	wctx := clientv3.WithRequireLeader(ctx)

	put, err := cli.Put(ctx, "/p/a", "1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/p/a", "2"); err != nil {
		t.Fatal(err)
	}
	last, err := cli.Put(ctx, "/p/a", "3")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, last.Header.Revision); err != nil {
		t.Fatal(err)
	}
	old := cli.Watch(wctx, "/p/", clientv3.WithPrefix(), clientv3.WithRev(put.Header.Revision))
	select {
	case resp := <-old:
		if resp.CompactRevision != last.Header.Revision {
			t.Fatalf("got %+v, want compaction at %d", resp, last.Header.Revision)
		}
	case <-ctx.Done():
		t.Fatal("a watch from a compacted revision got no answer")
	}
}
