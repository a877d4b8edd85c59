// The tour: every scenario and its fix in the demo guide's order (the catalog's `tour`), each
// press drawn before the next, with the guide's line for each step. A presenter can run the
// whole demo hands-free, and stop it: the step under way finishes, no later one starts.

function node(tag, attributes, text) {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  if (text) made.textContent = text;
  return made;
}

export function tourControls(config, cards) {
  const start = node("button", { type: "button", id: "tour-start" }, "Run the tour");
  const stop = node("button", { type: "button", id: "tour-stop", disabled: "" }, "Stop the tour");
  const say = node("p", { id: "tour-say", class: "tour-say", "aria-live": "polite" }, "");
  const state = { stopping: false };
  const status = say; // its data-state: idle, running, stopped, done
  status.dataset.state = "idle";
  stop.addEventListener("click", () => {
    state.stopping = true;
    stop.disabled = true;
    say.textContent = `${say.textContent} (stopping after this step)`;
  });
  start.addEventListener("click", async () => {
    state.stopping = false;
    start.disabled = true;
    stop.disabled = false;
    status.dataset.state = "running";
    const steps = (config.tour || []).filter((id) => cards.has(id));
    const done = await runTour(steps, cards, say, state);
    status.dataset.state = done === steps.length ? "done" : "stopped";
    status.dataset.steps = String(done);
    say.textContent =
      done === steps.length
        ? "Tour done: every scenario and its fix."
        : `Tour stopped after ${done} of ${steps.length}.`;
    start.disabled = false;
    stop.disabled = true;
  });
  return [start, stop, say];
}

async function runTour(steps, cards, say, state) {
  let done = 0;
  for (const id of steps) {
    if (state.stopping) break;
    const card = cards.get(id);
    say.textContent = `${done + 1}/${steps.length} ${card.scenario.title}: "${card.scenario.say}"`;
    card.node.scrollIntoView({ behavior: "smooth", block: "start" });
    await card.run.antipattern();
    await card.run.fix();
    done += 1;
  }
  return done;
}
