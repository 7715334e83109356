#!/usr/bin/python3
"""The page of `cnn serve` in a real browser: Debian's headless Chromium driven by Selenium.

What it does, against a server it starts itself on a temporary runs folder:
  1. trains a LeNet-5 briefly on MNIST with the real program (600 iterations of batch 64, about
     4 s on two cores, about 97.5% on the test set) and a second, shorter run (preset seed), so the
     runs list, Compare and the confusion matrix show real results; starts two more runs and
     stops them once they log: one with SIGINT (interrupted, with its resume command), one with
     SIGKILL (run.json still says running: the server must call it died);
  2. writes a third run folder by hand whose run.json says "running" and whose metrics.csv this
     test appends lines to (the live run);
  3. starts `cnn serve --runs TMP --port 0`, reads the URL with its token from the line it prints,
     and opens it in Chromium;
  4. Runs: every run listed with its status (finished, running, interrupted with the resume
     command, died), sorting by a header and the filter box work, two runs picked and compared
     (Compare: both curves drawn, the differing settings highlighted);
  5. a run: the confusion matrix, a click on a cell shows that pair's test images (loaded);
  6. Draw: draws a 1 and, after Clear, a 7 with real mouse events (press, moves, release) on the
     canvas and waits for the shown prediction to be 1 and 7; later an image file chosen with the
     file input (a 4), one dropped on the canvas (a PGM of a 3), a 1 drawn with a finger (touch
     pointer) and a 7 with a pen;
  7. Inside: the first convolution's filters and the drawn 7's feature maps appear;
  8. the live run's page: after each append to metrics.csv the chart's point count (its
     data-points attribute) grows to the new number of rows; when run.json says finished, the
     page shows it. Nothing depends on timing: every check waits for a condition (up to 30 s).
  9. no error in the page's message area and no error in the browser's console (a
     Content-Security-Policy violation would be one).

Screenshots of each view (runs, run, compare, draw, inside, live) are written as
serve-<view>.png into the folder of $CNN_SCREENSHOTS when set (docs/images for the ones in the
repository), else into --screenshots (CTest: the build folder), else a temporary folder.

Exit codes: 0 passed, 1 failed, 77 skipped (CTest's SKIP_RETURN_CODE) when Chromium,
chromedriver, Selenium or the MNIST files are missing and the environment variable CI is unset;
with CI set, a missing piece fails the test instead (CI installs them: scripts/install-deps.sh).

Usage: /usr/bin/python3 tests/serve/browser/serve_browser_test.py --cnn build/cnn --data data/mnist
       CNN_SCREENSHOTS=docs/images /usr/bin/python3 tests/serve/browser/serve_browser_test.py ...
"""
import argparse
import base64
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

SKIP = 77
WAIT_SECONDS = 30
CHROMIUM_CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
CHROMEDRIVER = "/usr/bin/chromedriver"


def missing(what: str) -> None:
    """A prerequisite is absent: skipped outside CI, failed in CI."""
    if os.environ.get("CI"):
        print(f"FAILED: {what} (CI is set, so the browser test must run; scripts/install-deps.sh "
              "installs chromium chromium-driver python3-selenium)")
        sys.exit(1)
    print(f"SKIPPED: {what}")
    sys.exit(SKIP)


try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError as error:
    missing(f"Selenium is not installed ({error}); apt-get install python3-selenium")


def log(text: str) -> None:
    print(text, flush=True)


def check(condition: bool, text: str) -> None:
    if not condition:
        raise AssertionError(text)
    log(f"ok: {text}")


# ---- the run folders ---------------------------------------------------------------------------

def train(cnn: str, data: str, out: Path, extra: list) -> dict:
    command = [cnn, "train", "--data", data, "--batch", "64", "--lr", "0.05", "--threads", "2",
               "--out", str(out), "--quiet", *extra]
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    record = json.loads((out / "run.json").read_text())
    log(f"trained {out.name} in {time.monotonic() - start:.1f} s: test accuracy "
        f"{record.get('test_accuracy')}")
    return record


def stopped_run(cnn: str, data: str, out: Path, signal_number: int) -> dict:
    """A run stopped by a signal once its metrics log has lines: SIGINT interrupts it (it writes a
    checkpoint and says how to resume), SIGKILL kills it (run.json still says running, but its
    run.lock is no longer held: the server calls it died)."""
    command = [cnn, "train", "--data", data, "--preset", "seed", "--batch", "64", "--iterations",
               "100000", "--log-every", "10", "--threads", "1", "--quiet", "--out", str(out),
               "--checkpoint", str(out.parent.parent / f"{out.name}.checkpoint.safetensors")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    metrics = out / "metrics.csv"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().count("\n") >= 4):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"{' '.join(command)} wrote no metrics lines:\n"
                                 f"{process.communicate()[0]}")
        time.sleep(0.05)  # polling a file; nothing waits on a fixed time
    process.send_signal(signal_number)
    try:
        process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"{' '.join(command)} did not stop on signal {signal_number}")
    record = json.loads((out / "run.json").read_text())
    log(f"stopped {out.name} with signal {signal_number}: run.json says {record.get('status')}")
    return record


METRICS_HEADER = ("step,epoch,loss,learning_rate,validation_accuracy,images_per_second,"
                  "wall_seconds\n")


def metrics_line(step: int, validation=None) -> str:
    """A plausible metrics.csv line: a falling loss with some deterministic wobble."""
    wobble = 1 + 0.5 * (random.Random(step).random() - 0.5)
    loss = (2.2 * (0.992 ** step) + 0.08) * wobble
    accuracy = "" if validation is None else f"{validation:.4f}"
    return f"{step},1,{loss:.6f},0.05,{accuracy},15000.0,{step * 0.004:.3f}\n"


def write_live_run(folder: Path, data: str, planned: int) -> None:
    """A run folder as `cnn train` writes it while training: run.json says running."""
    folder.mkdir()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    record = {
        "command": f"cnn train --data {data} --preset lenet5 --batch 64 --iterations {planned} "
                   "--lr 0.05 --out live-run",
        "class_names": [str(k) for k in range(10)],
        "data": data,
        "data_format": "IDX files",
        "input_normalization": "unit",
        "planned_iterations": planned,
        "preparation": "digit",
        "preset": "lenet5",
        "processes": 1,
        "started": now,
        "status": "running",
        "threads_per_process": 2,
        "version": "0.1.0",
    }
    (folder / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    (folder / "metrics.csv").write_text(METRICS_HEADER + "".join(metrics_line(s) for s in
                                                                range(10, 210, 10)))


def append(path: Path, text: str) -> None:
    with open(path, "a") as file:
        file.write(text)
        file.flush()


# ---- the server --------------------------------------------------------------------------------

class Server:
    """`cnn serve --runs DIR --port 0`; the URL comes from the line it prints."""

    def __init__(self, cnn: str, runs: Path):
        self.process = subprocess.Popen([cnn, "serve", "--runs", str(runs), "--port", "0"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.output = []
        lines = queue.Queue()

        def read(stream, name):
            for line in stream:
                self.output.append(f"{name}: {line.rstrip()}")
                lines.put(line)
        for stream, name in ((self.process.stdout, "stdout"), (self.process.stderr, "stderr")):
            threading.Thread(target=read, args=(stream, name), daemon=True).start()
        deadline = time.monotonic() + WAIT_SECONDS
        self.url = None
        while self.url is None:
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise AssertionError("cnn serve printed no URL line:\n" + "\n".join(self.output))
            try:
                line = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            match = re.search(r"cnn serve: (http://\S+\?token=[0-9a-f]{32})", line)
            if match:
                self.url = match.group(1)
        log(f"server: {self.url}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                code = self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise AssertionError("cnn serve did not stop within 10 s of SIGTERM")
            if code != 0:
                raise AssertionError(f"cnn serve exited with {code} on SIGTERM (expected 0):\n" +
                                     "\n".join(self.output[-20:]))


# ---- the browser -------------------------------------------------------------------------------

def start_browser():
    chromium = next((c for c in CHROMIUM_CANDIDATES if os.access(c, os.X_OK)), None)
    if chromium is None:
        missing("Chromium is not installed; apt-get install chromium")
    if not os.access(CHROMEDRIVER, os.X_OK):
        missing(f"{CHROMEDRIVER} is not there; apt-get install chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # --no-sandbox: Chromium's sandbox refuses to run as root (CI containers run as root).
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900",
                     "--disable-dev-shm-usage", "--force-device-scale-factor=1",
                     "--lang=en-US", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class Page:
    def __init__(self, driver, screenshots: Path):
        self.driver = driver
        self.screenshots = screenshots

    def wait(self, condition, text: str):
        try:
            value = WebDriverWait(self.driver, WAIT_SECONDS, poll_frequency=0.05,
                                  ignored_exceptions=[StaleElementReferenceException]).until(
                lambda d: condition())
        except TimeoutException:
            message = self.message()
            raise AssertionError(f"timed out waiting for: {text}" +
                                 (f" (the page says: {message})" if message else ""))
        log(f"ok: {text}")
        return value

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    # Reads go through one script each, so that an element the page redraws meanwhile (the runs
    # list refreshes every few seconds) cannot go stale between finding and reading it.
    def text(self, css: str) -> str:
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : '';",
            css)

    def attribute(self, css: str, name: str) -> str:
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]);"
            "return e ? (e.getAttribute(arguments[1]) || '') : '';", css, name)

    def attributes(self, css: str, name: str) -> list:
        """The attribute of every element matching css, in document order."""
        return self.driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])]"
            ".map(e => e.getAttribute(arguments[1]));",
            css, name)

    def click(self, css: str, text: str) -> None:
        """Clicks the element, finding it again if the page redrew it in between."""
        def attempt():
            self.find(css).click()
            return True
        self.wait(attempt, text)

    def number(self, css: str, name: str) -> int:
        try:
            return int(self.attribute(css, name))
        except ValueError:
            return -1

    def message(self) -> str:
        return self.driver.execute_script(
            "const box = document.getElementById('message');"
            "return box && !box.hidden ? document.getElementById('message-text').textContent : '';")

    def go(self, hash_route: str) -> None:
        self.driver.execute_script("location.hash = arguments[0];", hash_route)

    def no_error_shown(self, where: str) -> None:
        check(self.message() == "", f"{where}: no error in the page's message area")

    def screenshot(self, view: str) -> None:
        """The whole page (beyond the window's height) as serve-<view>.png."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"serve-{view}.png"
        height = self.driver.execute_script(
            "return Math.max(document.documentElement.scrollHeight, window.innerHeight)")
        width = self.driver.execute_script("return document.documentElement.clientWidth")
        self.driver.execute_script("window.scrollTo(0, 0)")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": min(height, 2400), "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))
        log(f"screenshot: {path}")

    def pointer_stroke(self, canvas, points, kind: str) -> None:
        """One stroke with a finger (kind "touch") or a pen ("pen"): W3C pointer actions of that
        type, which Chromium delivers as pointer events with that pointerType."""
        size = canvas.size
        pointer = PointerInput(kind, kind)
        builder = ActionBuilder(self.driver, mouse=pointer, duration=10)
        first = True
        for x, y in points:
            builder.pointer_action.move_to(
                canvas, round(x * size["width"] / 280 - size["width"] / 2),
                round(y * size["height"] / 280 - size["height"] / 2))
            if first:
                builder.pointer_action.pointer_down()
                first = False
        builder.pointer_action.pointer_up()
        builder.perform()

    def stroke(self, canvas, points) -> None:
        """One stroke with the mouse: press at the first point, move through the others, release.
        Points are in the canvas's own pixels (0..280), turned into offsets from its centre."""
        size = canvas.size
        width, height = size["width"], size["height"]

        def offset(point):
            return (round(point[0] * width / 280 - width / 2),
                    round(point[1] * height / 280 - height / 2))
        actions = ActionChains(self.driver, duration=10)
        x, y = offset(points[0])
        actions.move_to_element_with_offset(canvas, x, y).click_and_hold()
        for point in points[1:]:
            nx, ny = offset(point)
            actions.move_by_offset(nx - x, ny - y)
            x, y = nx, ny
        actions.release().perform()


def line(a, b, steps=12):
    return [(a[0] + (b[0] - a[0]) * i / steps, a[1] + (b[1] - a[1]) * i / steps)
            for i in range(steps + 1)]


# ---- the test ----------------------------------------------------------------------------------

def run_test(args, work: Path, screenshots: Path) -> None:
    runs = work / "runs"
    runs.mkdir()
    lenet = train(args.cnn, args.data, runs / "lenet5-600",
                  ["--preset", "lenet5", "--iterations", "600"])
    check(lenet.get("test_accuracy", 0) >= 0.95,
          f"the LeNet-5 run reaches at least 95% on the test set ({lenet.get('test_accuracy')})")
    train(args.cnn, args.data, runs / "seed-300", ["--preset", "seed", "--iterations", "300"])
    interrupted = stopped_run(args.cnn, args.data, runs / "interrupted-seed", signal.SIGINT)
    check(interrupted.get("status") == "interrupted" and "resume_command" in interrupted,
          "Ctrl-C leaves an interrupted run with its resume command")
    killed = stopped_run(args.cnn, args.data, runs / "killed-seed", signal.SIGKILL)
    check(killed.get("status") == "running", "kill -9 leaves a run whose run.json says running")
    live = runs / "live-run"
    planned = 1000
    write_live_run(live, args.data, planned)

    server = Server(args.cnn, runs)
    driver = None
    try:
        # The page is checked under the server's Content-Security-Policy (no inline script or
        # style): a violation would be an error in the console, checked at the end.
        with urllib.request.urlopen(server.url, timeout=WAIT_SECONDS) as answer:
            policy = answer.headers.get("Content-Security-Policy", "")
        check("script-src 'self'" in policy and "style-src 'self'" in policy,
              f"the page comes with a Content-Security-Policy ({policy})")
        driver = start_browser()
        page = Page(driver, screenshots)
        driver.get(server.url)

        # Runs: all three listed, sortable, filterable; pick two to compare.
        page.wait(lambda: len(page.find_all("#runs-body tr[data-run-id]")) == 5,
                  "Runs lists the five run folders")
        row_ids = lambda: page.attributes("#runs-body tr", "data-run-id")
        statuses = dict(zip(row_ids(), page.attributes("#runs-body tr", "data-status")))
        check(statuses == {"lenet5-600": "finished", "seed-300": "finished", "live-run": "running",
                           "interrupted-seed": "interrupted", "killed-seed": "died"},
              f"statuses shown: finished, running, interrupted, died ({statuses})")
        resume = page.text('#runs-body tr[data-run-id="interrupted-seed"] code.resume')
        check("--resume" in resume, f"the interrupted run shows its resume command ({resume})")
        check("token=" not in driver.current_url, "the token is removed from the address bar")
        page.click('#runs-table th[data-sort="test_accuracy"]', "click the Test header")
        page.wait(lambda: row_ids()[:2] == ["lenet5-600", "seed-300"],
                  "sorted by test accuracy, best first (LeNet-5 above seed)")
        page.click('#runs-table th[data-sort="test_accuracy"]', "click it again")
        page.wait(lambda: row_ids()[:2] == ["seed-300", "lenet5-600"],
                  "a second click sorts the other way")
        page.find("#runs-filter").send_keys("lenet5-")
        page.wait(lambda: row_ids() == ["lenet5-600"], "the filter box keeps the matching run only")
        page.find("#runs-filter").send_keys(Keys.CONTROL, "a")
        page.find("#runs-filter").send_keys(Keys.BACKSPACE)
        page.wait(lambda: len(row_ids()) == 5, "clearing the filter shows every run again")
        page.click('#runs-table th[data-sort="started"]', "sort by start, newest first")
        page.no_error_shown("Runs")
        page.screenshot("runs")

        for run_id in ("lenet5-600", "seed-300"):
            page.click(f'input.pick-run[data-run-id="{run_id}"]', f"pick {run_id}")
        page.wait(lambda: page.find("#compare-button").is_enabled(),
                  "two runs picked: Compare is enabled")
        page.find("#compare-button").click()
        page.wait(lambda: page.number("#compare-loss-chart", "data-points") > 0,
                  "Compare draws the loss curves of both runs")
        page.wait(lambda: page.number("#compare-accuracy-chart", "data-points") > 0,
                  "Compare draws the validation curves")
        check(len(page.find_all("#compare-legend li")) == 2, "the legend names two runs")
        differing = page.attributes('#compare-settings tr[data-differs="true"]', "data-setting")
        check("preset" in differing and "iterations" in differing,
              f"the differing settings are highlighted (preset, iterations among {differing})")
        same = page.attributes('#compare-settings tr[data-differs="false"]', "data-setting")
        check("batch" in same, "equal settings (batch) are not highlighted")
        page.no_error_shown("Compare")
        page.screenshot("compare")

        # A finished run: curves, confusion matrix, a cell's test images.
        page.go("#/run/lenet5-600")
        page.wait(lambda: len(page.find_all("#confusion button[data-true]")) == 100,
                  "the run's confusion matrix has 10 x 10 cells")
        check(page.number("#loss-chart", "data-points") > 0, "the run's loss curve is drawn")
        check(page.text("#run-status") == "finished", "the run's status is finished")
        cells = [(int(b.get_attribute("data-count")), b) for b in
                 page.find_all("#confusion button[data-true]")
                 if b.get_attribute("data-true") != b.get_attribute("data-predicted")]
        count, cell = max(cells, key=lambda c: c[0])
        check(count > 0, f"some test images are misclassified (largest cell {count})")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", cell)
        cell.click()
        expected = min(count, 60)
        page.wait(lambda: len(page.find_all("#pair-images figure")) == expected,
                  f"clicking the cell shows its {expected} test images")
        page.wait(lambda: driver.execute_script(
            "return [...document.querySelectorAll('#pair-images img')]"
            ".every(i => i.complete && i.naturalWidth === 28)"),
            "the test images load (28x28 PNGs from the server)")
        page.no_error_shown("Run")
        page.screenshot("run")

        # Draw: a 1, Clear, a 7, with real mouse events.
        page.go("#/draw")
        page.wait(lambda: len(page.find_all("#model-select option")) >= 2,
                  "the model chooser lists the models")
        Select(page.find("#model-select")).select_by_value("lenet5-600")
        canvas = page.find("#draw-canvas")
        page.stroke(canvas, line((145, 40), (135, 245), 16))
        page.wait(lambda: page.text("#predicted") == "1", "a drawn 1 is classified as 1")
        check(page.attribute("#draw-canvas", "data-pointer-type") == "mouse", "drawn with a mouse")
        check(len(page.find_all("#probabilities .bar")) == 10, "ten probability bars")
        page.find("#clear-button").click()
        page.wait(lambda: page.text("#predicted") == "–", "Clear empties the prediction")
        page.stroke(canvas, line((65, 55), (215, 55), 12) + line((215, 55), (120, 250), 16)[1:])
        page.wait(lambda: page.text("#predicted") == "7", "a drawn 7 is classified as 7")
        check(page.number("#prepared", "width") == 28, "the prepared 28x28 image is shown")
        page.no_error_shown("Draw")
        page.screenshot("draw")

        # Inside: filters and the drawn 7's feature maps.
        page.go("#/inside")
        page.wait(lambda: page.number("#filters", "data-tiles") == 6, "the 6 first-layer filters")
        page.wait(lambda: page.number("#features", "data-layers") == 2,
                  "feature maps of LeNet-5's two convolutions")
        page.no_error_shown("Inside")
        page.screenshot("inside")

        # Draw again: an image file chosen with the file input, then one dropped on the canvas
        # (a PGM, which the browser cannot show but the server reads, as `cnn predict` does).
        page.go("#/draw")
        page.wait(lambda: page.find("#draw-canvas").is_displayed(), "back on Draw")
        page.find("#file-input").send_keys(str(args.digits / "4-red-off-centre-400x400.png"))
        page.wait(lambda: page.text("#predicted") == "4",
                  "a chosen image file of a 4 is classified as 4")
        dropped = args.digits / "3-small-64x64.pgm"
        driver.execute_script("""
            const [canvas, name, bytes] = arguments;
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name,
                                        {type: 'image/x-portable-graymap'}));
            for (const type of ['dragover', 'drop']) {
              canvas.dispatchEvent(new DragEvent(type, {dataTransfer: transfer, bubbles: true,
                                                        cancelable: true}));
            }""", page.find("#draw-canvas"), dropped.name, list(dropped.read_bytes()))
        page.wait(lambda: page.text("#predicted") == "3",
                  "a dropped PGM file of a 3 is classified as 3")
        page.no_error_shown("Draw with files")

        # A finger and a pen draw too (pointer events of type touch and pen).
        page.find("#clear-button").click()
        page.wait(lambda: page.text("#predicted") == "–", "Clear empties the prediction")
        page.pointer_stroke(canvas, line((140, 45), (140, 240), 16), "touch")
        page.wait(lambda: page.text("#predicted") == "1",
                  "a 1 drawn with a finger is classified as 1")
        check(page.attribute("#draw-canvas", "data-pointer-type") == "touch",
              "the page saw a touch pointer")
        page.find("#clear-button").click()
        page.wait(lambda: page.text("#predicted") == "–", "Clear empties the prediction")
        seven = line((65, 55), (215, 55), 12) + line((215, 55), (120, 250), 16)[1:]
        page.pointer_stroke(canvas, seven, "pen")
        page.wait(lambda: page.text("#predicted") == "7",
                  "a 7 drawn with a pen is classified as 7")
        check(page.attribute("#draw-canvas", "data-pointer-type") == "pen", "the page saw a pen")

        # An API error is shown on the page, not swallowed.
        page.go("#/run/no-such-run")
        page.wait(lambda: "404" in page.message(),
                  "an unknown run's 404 is shown in the message area")

        # The live run: the curve grows with each append, then the run ends.
        page.go("#/run/live-run")
        rows = 20
        page.wait(lambda: page.number("#loss-chart", "data-points") == rows,
                  f"the live run's chart has its {rows} first points")
        check(page.text("#run-status") == "running", "the live run's status is running")
        metrics = live / "metrics.csv"
        step = 200
        for round_number, added in enumerate((3, 1, 6)):
            lines = []
            for i in range(added):
                step += 10
                validation = 0.90 + 0.01 * round_number if i == added - 1 else None
                lines.append(metrics_line(step, validation))
            append(metrics, "".join(lines))
            rows += added
            page.wait(lambda: page.number("#loss-chart", "data-points") == rows,
                      f"after appending {added} line(s) the chart has {rows} points")
            page.wait(lambda: page.number("#accuracy-chart", "data-points") == round_number + 1,
                      f"and {round_number + 1} validation point(s)")
        page.wait(lambda: "of 1000" in page.text("#run-progress-text"), "progress shows 'of 1000'")
        page.no_error_shown("live run")
        page.screenshot("live")
        record = json.loads((live / "run.json").read_text())
        record.update(status="finished", ended=record["started"], iterations=step)
        temporary = live / "run.json.tmp"
        temporary.write_text(json.dumps(record, indent=2) + "\n")
        temporary.replace(live / "run.json")
        page.wait(lambda: page.text("#run-status") == "finished",
                  "when run.json says finished, the page says so")

        # The browser's console: no errors (a CSP violation, a failed load, an exception).
        # The one expected failure: the live run has no test predictions, and the API answers
        # its confusion request (made when the run ends) with 404, which Chromium logs.
        # So does the unknown run asked for on purpose above (and the page logs its message).
        expected = re.compile(r"/api/runs/live-run/confusion - Failed to load resource: .* 404|"
                              r"/api/runs/no-such-run\b.*404")
        errors = [entry["message"] for entry in driver.get_log("browser")
                  if entry.get("level") == "SEVERE" and not expected.search(entry["message"])]
        check(not errors, "no errors in the browser's console" +
              ("" if not errors else ":\n  " + "\n  ".join(errors)))
    finally:
        if driver is not None:
            driver.quit()
        server.stop()
    log("ok: cnn serve stopped cleanly on SIGTERM (exit 0)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cnn", required=True, help="the cnn program (build/cnn)")
    parser.add_argument("--data", required=True, help="the MNIST folder (data/mnist)")
    parser.add_argument("--screenshots", help="folder for serve-<view>.png (CNN_SCREENSHOTS wins)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary runs folder")
    args = parser.parse_args()
    args.cnn = str(Path(args.cnn).resolve())
    args.digits = Path(__file__).resolve().parents[2] / "fixtures" / "digits"
    if not (Path(args.data) / "t10k-labels-idx1-ubyte").exists() and \
            not (Path(args.data) / "t10k-labels-idx1-ubyte.gz").exists():
        missing(f"no MNIST files in {args.data} (make data fetches them)")
    args.data = str(Path(args.data).resolve())

    work = Path(tempfile.mkdtemp(prefix="cnn-serve-browser-"))
    shots = os.environ.get("CNN_SCREENSHOTS") or args.screenshots or str(work / "screenshots")
    try:
        run_test(args, work, Path(shots).resolve())
    except AssertionError as error:
        print(f"FAILED: {error}")
        return 1
    except Exception:  # a Selenium or subprocess error: show where
        traceback.print_exc()
        print("FAILED: unexpected error (above)")
        return 1
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("PASSED: the page works in Chromium (runs, compare, run, draw 1 and 7, inside, live run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
