//go:build e2e

package e2e

import "testing"

const cronTabCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              cronSpec: {type: string}
              image: {type: string}
              replicas: {type: integer}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
`

const cronTab = `apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: my-cron
spec:
  cronSpec: "* * * * */5"
  image: my-cron-image
  replicas: 3
`

func TestCustomResources(t *testing.T) {
	forEachKubectl(t, func(t *testing.T, k *Kubectl) {
		k.WriteFile(t, "crd.yaml", cronTabCRD)
		k.WriteFile(t, "crontab.yaml", cronTab)

		t.Run("apply crd", func(t *testing.T) {
			wantLines(t, k.Run(t, "apply", "-f", "crd.yaml"),
				lit(`customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com created`))
			wantLines(t, k.Run(t, "wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=30s"),
				lit(`customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com condition met`))
			wantLines(t, k.Run(t, "get", "crd", "crontabs.stable.example.com"),
				header("NAME", "CREATED AT"),
				row(lit("crontabs.stable.example.com"), timestamp))
			wantLines(t, k.Run(t, "apply", "-f", "crd.yaml"),
				lit(`customresourcedefinition.apiextensions.k8s.io/crontabs.stable.example.com unchanged`))
			wantLines(t, k.Run(t, "api-resources", "--api-group=stable.example.com"),
				header("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"),
				row("crontabs", "ct", lit("stable.example.com/v1"), "true", "CronTab"))
		})

		t.Run("create custom object", func(t *testing.T) {
			wantLines(t, k.Run(t, "create", "-f", "crontab.yaml"),
				lit(`crontab.stable.example.com/my-cron created`))
			wantLines(t, k.Run(t, "apply", "-f", "crontab.yaml"),
				lit(`crontab.stable.example.com/my-cron configured`))
		})

		t.Run("get custom object", func(t *testing.T) {
			table := []string{
				header("NAME", "SPEC", "REPLICAS", "AGE"),
				row("my-cron", lit("* * * * */5"), "3", age),
			}
			wantLines(t, k.Run(t, "get", "crontabs"), table...)
			wantLines(t, k.Run(t, "get", "ct", "my-cron"), table...)
			wantLines(t, k.Run(t, "get", "crontab.stable.example.com", "my-cron", "-o", "wide"), table...)
			wantLines(t, k.Run(t, "get", "crontabs", "-o", "name"), lit("crontab.stable.example.com/my-cron"))
			obj := decode(t, k.Run(t, "get", "ct", "my-cron", "-o", "yaml"))
			for path, want := range map[string]string{
				"apiVersion":          "stable.example.com/v1",
				"kind":                "CronTab",
				"metadata.name":       "my-cron",
				"metadata.namespace":  "default",
				"metadata.generation": "1",
				"spec.image":          "my-cron-image",
				"spec.replicas":       "3",
			} {
				wantEqual(t, "crontab my-cron "+path, field(obj, path), want)
			}
		})

		t.Run("update custom object", func(t *testing.T) {
			wantLines(t, k.Run(t, "patch", "ct", "my-cron", "--type=merge", "-p", `{"spec":{"replicas":5}}`),
				lit(`crontab.stable.example.com/my-cron patched`))
			wantLines(t, k.Run(t, "get", "ct", "my-cron"),
				header("NAME", "SPEC", "REPLICAS", "AGE"),
				row("my-cron", lit("* * * * */5"), "5", age))
			wantLines(t, k.Run(t, "label", "ct", "my-cron", "team=blue"),
				lit(`crontab.stable.example.com/my-cron labeled`))
			wantLines(t, k.Run(t, "get", "ct", "-l", "team=blue", "-o", "name"), lit("crontab.stable.example.com/my-cron"))
		})

		t.Run("validate custom object", func(t *testing.T) {
			wantError(t, k.RunStdin(t, "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {replicas: three}\n",
				"create", "-f", "-"), 1,
				`The CronTab "bad" is invalid: spec\.replicas: Invalid value: "string": spec\.replicas in body must be of type integer: "string"`)
			wantError(t, k.RunStdin(t, "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: bad}\nspec: {unknown: x}\n",
				"create", "-f", "-"), 1,
				`Error from server \(BadRequest\): error when creating "STDIN": .*unknown field "spec\.unknown".*`)
			wantLines(t, k.RunStdin(t, "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata: {name: pruned}\nspec: {unknown: x, image: i}\n",
				"create", "--validate=false", "-f", "-"),
				lit(`crontab.stable.example.com/pruned created`))
			wantLines(t, k.Run(t, "get", "ct", "pruned", "-o", "jsonpath={.spec}"), lit(`{"image":"i"}`))
		})

		t.Run("explain custom object", func(t *testing.T) {
			wantHasLines(t, k.Run(t, "explain", "crontab.spec"),
				`GROUP: +stable\.example\.com`,
				`KIND: +CronTab`,
				`VERSION: +v1`,
				`FIELD: +spec <Object>`,
				`FIELDS:`,
				`  cronSpec\t<string>`,
				`  image\t<string>`,
				`  replicas\t<integer>`)
		})

		t.Run("delete custom object", func(t *testing.T) {
			wantLines(t, k.Run(t, "delete", "-f", "crontab.yaml"), deleted("crontab.stable.example.com", "my-cron"))
			wantLines(t, k.Run(t, "get", "ct", "-o", "name"), lit("crontab.stable.example.com/pruned"))
			wantLines(t, k.Run(t, "delete", "-f", "crd.yaml", "--timeout=30s"),
				deleted("customresourcedefinition.apiextensions.k8s.io", "crontabs.stable.example.com"))
			wantError(t, k.Run(t, "get", "crd", "crontabs.stable.example.com"), 1,
				lit(`Error from server (NotFound): customresourcedefinitions.apiextensions.k8s.io "crontabs.stable.example.com" not found`))
		})
	})
}
