package main

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// enumMarker is the comment tag upstream puts on a string type whose
// constants are its only valid values.
const enumMarker = "enum"

// decl is a type or constant declaration with what is needed to resolve the
// names it refers to: its package and the imports of its file.
type decl struct {
	pkg     string
	name    string
	imports map[string]string // local name to import path
	typ     ast.Expr          // declared type; nil when inferred from val
	val     ast.Expr          // constant value; nil for types
	comment string            // doc comment lines joined by spaces
}

// universe holds the declarations of a set of packages, keyed by
// "<package path>.<name>".
type universe struct {
	enums   map[string]bool  // named types with underlying string and +enum
	aliases map[string]*decl // type X = Y
	consts  map[string]*decl
	order   []string // constant keys in source order, for stable output

	// evaluation memo and cycle guard
	values   map[string]constValue
	visiting map[string]bool
}

// constValue is an evaluated string constant and its (resolved) type; typ
// is empty for untyped constants.
type constValue struct {
	typ, val string
	ok       bool
}

func newUniverse() *universe {
	return &universe{
		enums:    map[string]bool{},
		aliases:  map[string]*decl{},
		consts:   map[string]*decl{},
		values:   map[string]constValue{},
		visiting: map[string]bool{},
	}
}

// addTree parses every package under root, a directory of the module
// modPath rooted at modDir.
func (u *universe) addTree(modPath, modDir, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(modDir, p)
		if err != nil {
			return err
		}
		pkg := modPath
		if rel != "." {
			pkg = path.Join(modPath, filepath.ToSlash(rel))
		}
		return u.addPackage(pkg, p)
	})
}

// addPackage parses the non-test Go files of one directory that the default
// build context selects.
func (u *universe) addPackage(pkg, dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, name); err != nil || !ok {
			if err != nil {
				return fmt.Errorf("match %s: %w", filepath.Join(dir, name), err)
			}
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return err
		}
		u.addFile(pkg, f)
	}
	return nil
}

func (u *universe) addFile(pkg string, f *ast.File) {
	imports := map[string]string{}
	for _, spec := range f.Imports {
		p, err := strconv.Unquote(spec.Path.Value)
		if err != nil {
			continue
		}
		local := path.Base(p)
		if spec.Name != nil {
			local = spec.Name.Name
		}
		imports[local] = p
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		switch gd.Tok {
		case token.TYPE:
			for _, s := range gd.Specs {
				ts := s.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && gd.Lparen == token.NoPos {
					doc = gd.Doc
				}
				key := pkg + "." + ts.Name.Name
				if ts.Assign != token.NoPos {
					u.aliases[key] = &decl{pkg: pkg, name: ts.Name.Name, imports: imports, typ: ts.Type}
					continue
				}
				if id, ok := ts.Type.(*ast.Ident); ok && id.Name == "string" && hasMarker(doc, enumMarker) {
					u.enums[key] = true
				}
			}
		case token.CONST:
			// A spec without type and values repeats the previous ones.
			var typ ast.Expr
			var vals []ast.Expr
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				if vs.Type != nil || len(vs.Values) > 0 {
					typ, vals = vs.Type, vs.Values
				}
				doc := vs.Doc
				if doc == nil && gd.Lparen == token.NoPos {
					doc = gd.Doc
				}
				for i, n := range vs.Names {
					if n.Name == "_" {
						continue
					}
					c := &decl{pkg: pkg, name: n.Name, imports: imports, typ: typ, comment: joinComment(doc)}
					if i < len(vals) {
						c.val = vals[i]
					}
					key := pkg + "." + n.Name
					u.consts[key] = c
					u.order = append(u.order, key)
				}
			}
		}
	}
}

// hasMarker reports whether a comment has a line "+<name>" or
// "+<name>=<value>", the form upstream's generators read tags in.
func hasMarker(doc *ast.CommentGroup, name string) bool {
	if doc == nil {
		return false
	}
	for _, line := range strings.Split(doc.Text(), "\n") {
		line = strings.Trim(line, " ")
		if !strings.HasPrefix(line, "+") {
			continue
		}
		key, _, _ := strings.Cut(line[1:], "=")
		if key == name {
			return true
		}
	}
	return false
}

// joinComment returns the lines of a doc comment joined by spaces, which is
// how upstream's generator records the comment of an enum constant.
func joinComment(doc *ast.CommentGroup) string {
	if doc == nil {
		return ""
	}
	return strings.Join(strings.Split(strings.TrimRight(doc.Text(), "\n"), "\n"), " ")
}

// resolveType returns the key of the named type expr refers to, following
// aliases, or "" when expr is not a named type of a known package.
func (u *universe) resolveType(d *decl, expr ast.Expr) string {
	key := u.qualify(d, expr)
	for seen := 0; key != "" && seen < 100; seen++ {
		a, ok := u.aliases[key]
		if !ok {
			return key
		}
		key = u.qualify(a, a.typ)
	}
	return key
}

// qualify returns "<package path>.<name>" for an identifier or a qualified
// identifier in the file of d.
func (u *universe) qualify(d *decl, expr ast.Expr) string {
	switch e := expr.(type) {
	case *ast.ParenExpr:
		return u.qualify(d, e.X)
	case *ast.Ident:
		return d.pkg + "." + e.Name
	case *ast.SelectorExpr:
		x, ok := e.X.(*ast.Ident)
		if !ok {
			return ""
		}
		p, ok := d.imports[x.Name]
		if !ok {
			return ""
		}
		return p + "." + e.Sel.Name
	}
	return ""
}

// eval returns the value and type of the constant key. ok is false when
// the constant is not a string constant this evaluator understands (iota,
// arithmetic, ...).
func (u *universe) eval(key string) constValue {
	if v, ok := u.values[key]; ok {
		return v
	}
	c, ok := u.consts[key]
	if !ok || u.visiting[key] {
		return constValue{}
	}
	u.visiting[key] = true
	defer delete(u.visiting, key)

	v := u.evalExpr(c, c.val)
	if c.typ != nil {
		v.typ = u.resolveType(c, c.typ)
	}
	u.values[key] = v
	return v
}

func (u *universe) evalExpr(d *decl, expr ast.Expr) constValue {
	switch e := expr.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return constValue{}
		}
		s, err := strconv.Unquote(e.Value)
		return constValue{val: s, ok: err == nil}
	case *ast.ParenExpr:
		return u.evalExpr(d, e.X)
	case *ast.Ident, *ast.SelectorExpr:
		return u.eval(u.qualify(d, e))
	case *ast.CallExpr: // conversion T(x)
		if len(e.Args) != 1 {
			return constValue{}
		}
		v := u.evalExpr(d, e.Args[0])
		v.typ = u.resolveType(d, e.Fun)
		return v
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return constValue{}
		}
		x, y := u.evalExpr(d, e.X), u.evalExpr(d, e.Y)
		typ := x.typ
		if typ == "" {
			typ = y.typ
		}
		return constValue{typ: typ, val: x.val + y.val, ok: x.ok && y.ok}
	}
	return constValue{}
}

// enumConst is a constant of an enum type.
type enumConst struct {
	name, value, comment string
}

// enumsByType returns the constants of every enum type, one per value,
// sorted by quoted value. Constants with the same value (a type alias
// re-exporting another package's cases, a deprecated name) collapse into the
// one with the longest comment, ties going to the smaller comment, so the
// result does not depend on the order packages are read in. It fails when
// a constant of an enum type has a value it cannot evaluate.
func (u *universe) enumsByType() (map[string][]enumConst, error) {
	out := map[string][]enumConst{}
	for _, key := range u.order {
		c := u.consts[key]
		v := u.eval(key)
		typ := v.typ
		if !u.enums[typ] {
			continue
		}
		if !v.ok {
			return nil, fmt.Errorf("constant %s of enum type %s: value is not a string constant", key, typ)
		}
		ec := enumConst{name: c.name, value: v.val, comment: c.comment}
		vals := out[typ]
		dup := false
		for i, old := range vals {
			if old.value != ec.value {
				continue
			}
			dup = true
			if len(old.comment) < len(ec.comment) || (len(old.comment) == len(ec.comment) && old.comment > ec.comment) {
				vals[i] = ec
			}
		}
		if !dup {
			vals = append(vals, ec)
		}
		out[typ] = vals
	}
	for typ, vals := range out {
		sort.Slice(vals, func(i, j int) bool {
			return strconv.Quote(vals[i].value) < strconv.Quote(vals[j].value)
		})
		out[typ] = vals
	}
	return out, nil
}

// valueDoc returns the documentation upstream shows for an enum value: the
// constant's comment without the constant's name it usually starts with,
// with runs of white space collapsed into one space.
func valueDoc(c enumConst) string {
	s := strings.TrimSpace(c.comment)
	s = strings.TrimSpace(strings.TrimPrefix(s, c.name))
	return strings.Join(strings.FieldsFunc(s, isRegexpSpace), " ")
}

// isRegexpSpace reports whether r is white space as \s means in Go
// regular expressions, the class upstream collapses.
func isRegexpSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\f', '\r':
		return true
	}
	return false
}
