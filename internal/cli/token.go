package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/skiff/skiff/internal/auth/bootstraptoken"
	"github.com/skiff/skiff/internal/config"
	"github.com/skiff/skiff/internal/pki"
)

const tokenUsage = `Usage:
  skiff token create [--kubeconfig FILE] [--ttl 24h] [--description TEXT]

Creates a new join token for agents and prints it. It talks to the API
server with an admin kubeconfig (default DATA-DIR/kubeconfig.yaml) and
stores the token as a bootstrap token Secret in kube-system, which the
server accepts at once; --ttl 0 makes a token that does not expire.
`

func runToken(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
			fmt.Fprint(stdout, tokenUsage)
			return 0
		}
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	home, _ := os.UserHomeDir()
	dataDir := config.DefaultServer(os.Geteuid(), home).DataDir
	fs := flag.NewFlagSet("skiff token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kubeconfig := fs.String("kubeconfig", "", "admin kubeconfig (default $KUBECONFIG, else DATA-DIR/kubeconfig.yaml)")
	fs.StringVar(&dataDir, "data-dir", dataDir, "the server's data directory, to find its kubeconfig")
	ttl := fs.Duration("ttl", 24*time.Hour, "how long the token is valid (0 means forever)")
	desc := fs.String("description", "", "what the token is for")
	if code, ok := parse(fs, args[1:], stderr); !ok {
		return code
	}
	if *ttl < 0 {
		return fail(stderr, fs.Name(), fmt.Errorf("--ttl %v must not be negative", *ttl), 2)
	}
	path := *kubeconfig
	if path == "" {
		path = os.Getenv("KUBECONFIG")
	}
	if path == "" {
		path = filepath.Join(dataDir, "kubeconfig.yaml")
	}
	tok, err := createToken(context.Background(), path, *ttl, *desc)
	if err != nil {
		return fail(stderr, fs.Name(), err, 1)
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// createToken stores a new token through the API of the kubeconfig at
// path and returns it with the CA hash of that kubeconfig's CA.
func createToken(ctx context.Context, path string, ttl time.Duration, desc string) (string, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return "", fmt.Errorf("load kubeconfig: %w", err)
	}
	caPEM := rc.CAData
	if len(caPEM) == 0 && rc.CAFile != "" {
		if caPEM, err = os.ReadFile(rc.CAFile); err != nil {
			return "", fmt.Errorf("read CA: %w", err)
		}
	}
	if len(caPEM) == 0 {
		return "", errors.New("the kubeconfig names no certificate authority, so the token cannot pin it")
	}
	hash, err := pki.CAHash(caPEM)
	if err != nil {
		return "", err
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return "", err
	}
	opts := bootstraptoken.SecretOptions{Description: desc}
	if ttl > 0 {
		opts.Expires = time.Now().Add(ttl)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for range 3 { // a new random ID collides with an existing one only by bad luck
		t, err := bootstraptoken.Generate(hash)
		if err != nil {
			return "", err
		}
		_, err = client.CoreV1().Secrets(bootstraptoken.SecretNamespace).Create(ctx, bootstraptoken.Secret(t, opts), metav1.CreateOptions{FieldManager: "skiff"})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("store token: %w", err)
		}
		return t.String(), nil
	}
	return "", errors.New("store token: token IDs kept colliding")
}
