/**
 * The dashboard's messages: a list of errors (one line per source, replaced in place so a
 * repeating failure is not re-announced) and a passing notice after an action.
 */

import { $ } from "./dom";

/** One line in the error list per key, replaced in place so a repeating failure is not re-announced. */
export function setError(key: string, message: string): void {
  const list = $("errors");
  let item = [...list.children].find((child) => child instanceof HTMLElement && child.dataset.key === key);
  if (item?.firstChild?.textContent === message) {
    return;
  }
  if (!item) {
    const li = document.createElement("li");
    li.dataset.key = key;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", () => li.remove());
    li.append(document.createElement("span"), dismiss);
    list.append(li);
    item = li;
  }
  if (item.firstChild) {
    item.firstChild.textContent = message;
  }
  item.lastElementChild?.setAttribute("aria-label", `Dismiss: ${message}`);
}

export function clearError(key: string): void {
  for (const child of [...$("errors").children]) {
    if (child instanceof HTMLElement && child.dataset.key === key) {
      child.remove();
    }
  }
}

let noticeTimer: ReturnType<typeof setTimeout> | 0 = 0;
export function notice(message: string): void {
  $("notice").textContent = message;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    $("notice").textContent = "";
  }, 6000);
}
