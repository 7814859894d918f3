// Command picloud-console is the PiCloud desktop console: it finds nodes on
// the LAN, pairs with them and manages their apps. This file only parses
// flags and wires the packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/picloud/picloud/console/registry"
	"github.com/picloud/picloud/console/ui"
	"github.com/picloud/picloud/shared/discovery"
)

// Stamped by the release build: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "picloud-console:", err)
		os.Exit(1)
	}
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func run() error {
	defReg, err := registry.DefaultPath()
	if err != nil {
		defReg = "picloud-nodes.json"
	}
	var (
		regPath = flag.String("registry", env("PICLOUD_CONSOLE_REGISTRY", defReg), "file of paired nodes (env PICLOUD_CONSOLE_REGISTRY)")
		mdns    = flag.String("mdns", env("PICLOUD_MDNS", "on"), "on|off: browse the LAN for nodes (env PICLOUD_MDNS)")
		add     = flag.String("add", env("PICLOUD_CONSOLE_ADD", ""), "comma-separated host:port of nodes to add by hand at start (env PICLOUD_CONSOLE_ADD)")
		open    = flag.String("open", env("PICLOUD_CONSOLE_OPEN", ""), "id of a paired node to open at start (env PICLOUD_CONSOLE_OPEN)")
		shots   = flag.String("screenshot-dir", env("PICLOUD_SCREENSHOT_DIR", ""), "open each main screen, write PNGs into this folder and exit; needs --screenshot-node and --screenshot-token (env PICLOUD_SCREENSHOT_DIR)")
		shotAt  = flag.String("screenshot-node", env("PICLOUD_SCREENSHOT_NODE", ""), "host:port of the node the screenshot tour uses (env PICLOUD_SCREENSHOT_NODE)")
		shotTok = flag.String("screenshot-token", env("PICLOUD_SCREENSHOT_TOKEN", ""), "admin token of that node (env PICLOUD_SCREENSHOT_TOKEN)")
		shotApp = flag.String("screenshot-app", "demo", "slug of the app the screenshot tour opens")
		shotTO  = flag.String("screenshot-takeover", "", "a reserved slug the tour tries to rename the app to, to show the confirm dialog")
		shotOne = flag.String("screenshot-only", "", "write only this shot (as NAME-WxH.png) and stop the tour there")
		winSize = flag.String("window-size", env("PICLOUD_CONSOLE_SIZE", "1280x800"), "the window's size at start, WIDTHxHEIGHT (env PICLOUD_CONSOLE_SIZE)")
	)
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Printf("picloud-console %s (commit %s)\n", version, commit)
		return nil
	}
	if *mdns != "on" && *mdns != "off" {
		return fmt.Errorf("--mdns must be on or off, got %q", *mdns)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	reg, err := registry.Open(*regPath)
	if err != nil {
		return err
	}
	browser := discovery.NewBrowser(discovery.Config{ManualOnly: *mdns == "off", Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = browser.Run(ctx) }()

	var a fyne.App = app.NewWithID("io.picloud.console")
	// macOS's theme watcher type-asserts the app's own settings, so the
	// steady cursor is for the other desktops (Linux: the Pi).
	if os.Getenv("PICLOUD_CONSOLE_ANIMATIONS") != "on" && runtime.GOOS != "darwin" {
		a = ui.Steady(a)
	}
	w := a.NewWindow("PiCloud console")
	var width, height float32
	if _, err := fmt.Sscanf(*winSize, "%gx%g", &width, &height); err != nil || width < 1 || height < 1 {
		return fmt.Errorf("--window-size %q: want WIDTHxHEIGHT, e.g. 1280x800", *winSize)
	}
	w.Resize(fyne.NewSize(width, height))
	c := ui.New(a, w, ui.Options{Registry: reg, Browser: browser, Logger: log, Version: version + " (" + commit + ")"})
	w.SetOnClosed(c.Close)
	for _, addr := range strings.Split(*add, ",") {
		if addr = strings.TrimSpace(addr); addr != "" {
			c.AddAddress(addr)
		}
	}

	if *open != "" {
		c.OpenNode(*open)
	}

	var tourErr error
	if *shots != "" {
		if *shotAt == "" || *shotTok == "" {
			return fmt.Errorf("--screenshot-dir needs --screenshot-node and --screenshot-token")
		}
		if err := os.MkdirAll(*shots, 0o755); err != nil {
			return err
		}
		go func() {
			time.Sleep(time.Second) // the window is up
			o := ui.TourOptions{Addr: *shotAt, Token: *shotTok, App: *shotApp, Takeover: *shotTO, Settle: 800 * time.Millisecond}
			tourErr = c.Tour(o, func(name string) error {
				if *shotOne == "" {
					return writePNG(w, filepath.Join(*shots, name+".png"))
				}
				if name != *shotOne {
					return nil
				}
				if err := writePNG(w, filepath.Join(*shots, name+"-"+*winSize+".png")); err != nil {
					return err
				}
				return errTourDone
			})
			if errors.Is(tourErr, errTourDone) {
				tourErr = nil
			}
			if tourErr != nil {
				log.Error("screenshot tour", "err", tourErr)
			}
			fyne.Do(a.Quit)
		}()
	}
	w.ShowAndRun()
	return tourErr
}

// errTourDone stops the tour once --screenshot-only's shot is written.
var errTourDone = errors.New("the one shot asked for is written")

// writePNG captures the window. Capture reads the GL front buffer, so it
// runs on the main goroutine, where the window's GL context lives.
func writePNG(w fyne.Window, path string) error {
	var img image.Image
	fyne.DoAndWait(func() { img = w.Canvas().Capture() })
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
