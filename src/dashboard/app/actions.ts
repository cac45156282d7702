/**
 * The dashboard's forms and buttons: the token form, create, edit, enable/disable and delete.
 * Each admin action shows the API's error next to itself and polls at once afterwards.
 */

import { GclError } from "../../client/index";
import { $, input } from "./dom";
import { describe, limitKey, type Session } from "./session";
import type { DetailData } from "./detail";

/** What the actions need of the page. */
export interface Page {
  session: Session;
  detail(): DetailData | null;
  signedIn(): void;
  forgetToken(): void;
  editing(dirty: boolean): void;
  poll(): Promise<void>;
  notice(message: string): void;
}

/**
 * Runs an admin action: clears the area's old error, disables the button while it runs, and
 * shows the API's error next to the action. Resolves to whether it succeeded.
 */
async function act(
  page: Page,
  errorElement: HTMLElement,
  button: HTMLButtonElement | null,
  work: () => Promise<unknown>,
): Promise<boolean> {
  errorElement.textContent = "";
  if (button) {
    button.disabled = true;
  }
  try {
    await work();
    return true;
  } catch (error) {
    errorElement.textContent = describe(error);
    return false;
  } finally {
    if (button) {
      button.disabled = false;
    }
    void page.poll();
  }
}

function button(id: string): HTMLButtonElement {
  const element = $(id);
  if (!(element instanceof HTMLButtonElement)) {
    throw new Error(`#${id} is not a button`);
  }
  return element;
}

export function wireActions(page: Page): void {
  const { session } = page;

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const field = input("token-input");
    session.setToken(field.value.trim());
    field.value = "";
    page.signedIn();
  });

  button("token-button").addEventListener("click", () => {
    $("token-reason").textContent = "";
    $("token-view").hidden = false;
    $("token-cancel").hidden = $("token-cancel").dataset.required === "true";
    input("token-input").focus();
  });

  button("token-cancel").addEventListener("click", () => {
    $("token-view").hidden = true;
  });

  button("forget-button").addEventListener("click", () => page.forgetToken());

  $("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const name = input("create-name").value.trim();
    const decay = Number(input("create-decay").value || "0");
    const body = {
      name,
      limit: Number(input("create-limit").value),
      active: input("create-active").checked,
      ...(decay !== 0 ? { slot_decay_per_second: decay } : {}),
    };
    const create = () =>
      session.client.limits.create(body).catch((error: unknown) => {
        // The API keeps Prefect's cryptic 409 text; say which name is taken instead.
        if (error instanceof GclError && error.code === "already_exists") {
          throw new GclError(error.code, `A limit named “${name}” already exists`);
        }
        throw error;
      });
    if (await act(page, $("create-error"), form.querySelector("button"), create)) {
      form.reset();
      page.notice(`Created limit “${name}”.`);
    }
  });

  $("edit-form").addEventListener("input", () => page.editing(true));

  $("edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const record = page.detail()?.record;
    if (!record) {
      return;
    }
    const patch = {
      limit: Number(input("edit-limit").value),
      slot_decay_per_second: Number(input("edit-decay").value),
    };
    const form = event.currentTarget as HTMLFormElement;
    if (
      await act(page, $("edit-error"), form.querySelector("button"), () =>
        session.client.limits.update(limitKey(record), patch),
      )
    ) {
      page.editing(false);
      page.notice(`Saved “${record.name}”.`);
    }
  });

  button("toggle-button").addEventListener("click", async () => {
    const record = page.detail()?.record;
    if (!record) {
      return;
    }
    const active = !record.active;
    if (
      await act(page, $("edit-error"), button("toggle-button"), () =>
        session.client.limits.update(limitKey(record), { active }),
      )
    ) {
      page.notice(`${active ? "Enabled" : "Disabled"} “${record.name}”.`);
    }
  });

  const dialog = $("delete-dialog") as HTMLDialogElement;

  button("delete-button").addEventListener("click", () => {
    const detail = page.detail();
    if (!detail?.record) {
      return;
    }
    const held = detail.leases?.leases.length ?? 0;
    $("delete-text").textContent =
      `“${detail.record.name}” will be deleted` +
      (held > 0 ? ` and its ${held} ${held === 1 ? "lease" : "leases"} revoked.` : ".") +
      " Waiting requests will find it missing. This cannot be undone.";
    dialog.returnValue = "";
    dialog.showModal();
  });

  dialog.addEventListener("close", async () => {
    const record = page.detail()?.record;
    if (dialog.returnValue !== "confirm" || !record) {
      button("delete-button").focus();
      return;
    }
    if (
      await act(page, $("edit-error"), button("delete-button"), () => session.client.limits.delete(limitKey(record)))
    ) {
      page.notice(`Deleted limit “${record.name}”.`);
      location.hash = "";
    }
  });
}
