// Package tui is the explorer's terminal UI: the layers of a report, and
// the tree of each layer's files, on tview. It is a package of its own so
// that only the binary that shows it links tview and tcell (see
// cmd/layerctl's handoff).
package tui

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	humanize "github.com/dustin/go-humanize"
	"github.com/gdamore/tcell/v2"
	digest "github.com/opencontainers/go-digest"
	"github.com/rivo/tview"

	"github.com/layerctl/layerctl/pkg/explore"
	"github.com/layerctl/layerctl/pkg/layer"
)

// FileReader reads a file of a layer's diff dir without following links
// out of it: the facade's ReadLayerFile.
type FileReader interface {
	ReadLayerFile(chainID digest.Digest, name string, max int64) ([]byte, error)
}

// maxShown is how much of a file the content view reads.
const maxShown = 256 << 10

const footerKeys = "[::b]Tab[::-] pane  [::b]↑↓[::-] move  [::b]Enter[::-] open/close dir  [::b]c[::-] layer/all  " +
	"[::b]1-4[::-] hide added/modified/removed/unchanged  [::b]/[::-] filter  [::b]z[::-] collapse  " +
	"[::b]s[::-] sort by size  [::b]v[::-] view file  [::b]q[::-] quit"

// browser is the state of the explore TUI.
type browser struct {
	rep    *explore.Report
	files  FileReader
	layers [][]explore.File
	app    *tview.Application
	pages  *tview.Pages
	table  *tview.Table
	tree   *tview.TreeView
	status *tview.TextView
	filter *tview.InputField
	body   *tview.Flex

	selected int
	all      bool // everything up to the layer, not only its changes
	bySize   bool
	hidden   map[layer.ChangeKind]bool
	pattern  string
	view     *explore.View
	visible  map[string]bool
}

// Run shows the report on the terminal until q or Ctrl-C, and restores
// the terminal on the way out.
func Run(rep *explore.Report, files FileReader) error {
	b := &browser{rep: rep, files: files, app: tview.NewApplication(), all: true, hidden: map[layer.ChangeKind]bool{}}
	for _, l := range rep.Layers {
		b.layers = append(b.layers, l.Files)
	}
	b.layout()
	if len(rep.Layers) > 0 {
		b.selectLayer(len(rep.Layers) - 1)
		b.table.Select(len(rep.Layers), 0)
	}
	return b.app.SetRoot(b.pages, true).SetFocus(b.table).Run()
}

func (b *browser) layout() {
	b.table = tview.NewTable().SetSelectable(true, false).SetFixed(1, 0)
	b.table.SetBorder(true).SetTitle(" Layers ")
	for c, h := range []string{"#", "SIZE", "A", "M", "D", "CREATED BY"} {
		b.table.SetCell(0, c, tview.NewTableCell(h).SetSelectable(false).SetAttributes(tcell.AttrBold))
	}
	for i, l := range b.rep.Layers {
		for c, s := range []string{fmt.Sprint(l.Index), humanize.Bytes(uint64(l.SizeBytes)), fmt.Sprint(len(l.Added)),
			fmt.Sprint(len(l.Modified)), fmt.Sprint(len(l.Deleted)), oneLine(l.CreatedBy)} {
			b.table.SetCell(i+1, c, tview.NewTableCell(tview.Escape(s)))
		}
	}
	b.table.SetSelectionChangedFunc(func(row, _ int) {
		if row >= 1 && row-1 != b.selected {
			b.selectLayer(row - 1)
		}
	})
	b.tree = tview.NewTreeView()
	b.tree.SetBorder(true)
	b.tree.SetSelectedFunc(b.toggle)
	b.status = tview.NewTextView().SetDynamicColors(true)
	b.filter = tview.NewInputField().SetLabel("filter: ")
	b.filter.SetDoneFunc(func(tcell.Key) {
		b.pattern = b.filter.GetText()
		b.body.RemoveItem(b.filter)
		b.refresh()
		b.app.SetFocus(b.tree)
	})
	left := tview.NewFlex().SetDirection(tview.FlexRow).AddItem(b.table, 0, 2, true).AddItem(b.summary(), 0, 1, false)
	main := tview.NewFlex().AddItem(left, 0, 1, true).AddItem(b.tree, 0, 1, false)
	footer := tview.NewTextView().SetDynamicColors(true).SetText(footerKeys)
	b.body = tview.NewFlex().SetDirection(tview.FlexRow).AddItem(main, 0, 1, true).AddItem(b.status, 1, 0, false).AddItem(footer, 2, 0, false)
	b.pages = tview.NewPages().AddPage("main", b.body, true, true)
	b.app.SetInputCapture(b.keys)
}

// summary is the pane of the image's figures and its most wasteful files.
func (b *browser) summary() *tview.TextView {
	r := b.rep
	var s strings.Builder
	fmt.Fprintf(&s, "Image size: %s   wasted: %s   efficiency: %.2f %%   user wasted: %.2f %%\n",
		humanize.Bytes(uint64(r.SizeBytes)), humanize.Bytes(uint64(r.WastedBytes)), 100*r.Efficiency, 100*r.UserWastedPercent)
	fmt.Fprintln(&s, "Largest inefficient files (copies, wasted, path):")
	for i, f := range r.Inefficiencies {
		if i == 20 {
			break
		}
		fmt.Fprintf(&s, "  %3d %9s  %s\n", f.Count, humanize.Bytes(uint64(f.WastedBytes)), f.Path)
	}
	tv := tview.NewTextView().SetText(s.String())
	tv.SetBorder(true).SetTitle(" Image ")
	return tv
}

// keys are the TUI's shortcuts; keys typed into the filter go there.
func (b *browser) keys(ev *tcell.EventKey) *tcell.EventKey {
	if ev.Key() == tcell.KeyCtrlC {
		b.app.Stop()
		return nil
	}
	if b.app.GetFocus() == b.filter {
		return ev
	}
	if name, _ := b.pages.GetFrontPage(); name != "main" {
		if ev.Key() == tcell.KeyEscape || ev.Rune() == 'q' {
			b.pages.RemovePage(name)
			b.app.SetFocus(b.tree)
			return nil
		}
		return ev
	}
	switch ev.Key() {
	case tcell.KeyTab, tcell.KeyBacktab:
		if b.app.GetFocus() == b.table {
			b.app.SetFocus(b.tree)
		} else {
			b.app.SetFocus(b.table)
		}
		return nil
	case tcell.KeyRune:
	default:
		return ev
	}
	switch r := ev.Rune(); r {
	case 'q':
		b.app.Stop()
	case 'c':
		b.all = !b.all
		b.selectLayer(b.selected)
	case '1', '2', '3', '4':
		k := []layer.ChangeKind{layer.Added, layer.Modified, layer.Deleted, layer.Unchanged}[r-'1']
		b.hidden[k] = !b.hidden[k]
		if !b.hidden[k] {
			delete(b.hidden, k)
		}
		b.refresh()
	case '/':
		b.body.AddItem(b.filter, 1, 0, true)
		b.app.SetFocus(b.filter)
	case 'z':
		b.refresh()
	case 's':
		b.bySize = !b.bySize
		b.refresh()
	case 'v':
		b.showFile()
	default:
		return ev
	}
	return nil
}

// selectLayer shows the tree as of layer i.
func (b *browser) selectLayer(i int) {
	b.selected = i
	b.view = explore.NewView(b.layers, i, b.all)
	b.refresh()
}

// refresh rebuilds the tree's top level (closed), for the current options.
func (b *browser) refresh() {
	b.visible = b.view.Visible(b.hidden, b.pattern)
	mode := "this layer's changes"
	if b.all {
		mode = "everything up to this layer"
	}
	b.tree.SetTitle(fmt.Sprintf(" Layer %d: %s ", b.selected, mode))
	root := tview.NewTreeNode("/").SetSelectable(false)
	b.addChildren(root, "/")
	b.tree.SetRoot(root).SetTopLevel(1)
	if c := root.GetChildren(); len(c) > 0 {
		b.tree.SetCurrentNode(c[0])
	}
	var opts []string
	for k, name := range map[layer.ChangeKind]string{layer.Added: "added", layer.Modified: "modified", layer.Deleted: "removed", layer.Unchanged: "unchanged"} {
		if b.hidden[k] {
			opts = append(opts, "hiding "+name)
		}
	}
	if b.pattern != "" {
		opts = append(opts, fmt.Sprintf("filter %q", b.pattern))
	}
	if b.bySize {
		opts = append(opts, "by size")
	}
	b.status.SetText(tview.Escape(fmt.Sprintf("%d paths  %s", b.view.Len(), strings.Join(opts, ", "))))
}

// addChildren adds the entries under dir to node: the tree is built one
// directory at a time, as it is opened, so the first screen costs little.
func (b *browser) addChildren(node *tview.TreeNode, dir string) {
	for _, e := range b.view.Children(dir, b.bySize) {
		if b.visible != nil && !b.visible[e.Path] {
			continue
		}
		n := tview.NewTreeNode(label(e)).SetReference(e).SetSelectable(true).SetExpanded(false)
		if e.Dir && e.Kind != layer.Deleted && len(b.view.Children(e.Path, false)) > 0 {
			n.AddChild(tview.NewTreeNode("")) // a placeholder: openable
		}
		node.AddChild(n)
	}
}

// toggle opens or closes a directory, filling it in the first time.
func (b *browser) toggle(n *tview.TreeNode) {
	e, ok := n.GetReference().(*explore.ViewEntry)
	if !ok || !e.Dir {
		return
	}
	if !n.IsExpanded() {
		n.ClearChildren()
		b.addChildren(n, e.Path)
	}
	n.SetExpanded(!n.IsExpanded())
}

var kindMark = map[layer.ChangeKind]string{
	layer.Added: "[green]+", layer.Modified: "[yellow]~", layer.Deleted: "[red]-", layer.Unchanged: "[white] ",
}

func label(e *explore.ViewEntry) string {
	name := path.Base(e.Path)
	if e.Dir {
		name += "/"
	}
	size := ""
	if e.Kind != layer.Deleted {
		size = humanize.Bytes(uint64(e.Size))
	}
	return fmt.Sprintf("%s %s  %s[-]", kindMark[e.Kind], tview.Escape(name), size)
}

// showFile shows the selected file's content, read from the diff dir of the
// layer that holds the copy the view shows.
func (b *browser) showFile() {
	n := b.tree.GetCurrentNode()
	if n == nil {
		return
	}
	e, ok := n.GetReference().(*explore.ViewEntry)
	if !ok || e.Dir || e.Layer < 0 {
		return
	}
	text, err := b.files.ReadLayerFile(b.rep.Layers[e.Layer].ChainID, strings.TrimPrefix(e.Path, "/"), maxShown)
	var s string
	switch {
	case err != nil:
		s = err.Error()
	case !utf8.Valid(text) || strings.ContainsRune(string(text), 0):
		s = fmt.Sprintf("(binary: %d bytes)", e.Size)
	default:
		s = string(text)
		if e.Size > maxShown {
			s += fmt.Sprintf("\n(first %d of %d bytes)", maxShown, e.Size)
		}
	}
	tv := tview.NewTextView().SetText(s).SetScrollable(true)
	tv.SetBorder(true).SetTitle(fmt.Sprintf(" %s (layer %d)  Esc: back ", tview.Escape(e.Path), e.Layer))
	b.pages.AddPage("file", tv, true, true)
	b.app.SetFocus(tv)
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\t", " ").Replace(s) }
