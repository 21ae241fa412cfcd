/**
 * Plain-words explanations of failed SCIM requests for the customer's IT admin: what happened and
 * what to do about it, from the status, method, path and the error detail Rollcall answered.
 * Pure: no Koa, no database.
 */
export type Explanation = { title: string; whatToDo: string };

export type LoggedRequest = { method: string; path: string; status: number; error: string | null };

const resourceOf = (path: string) => /^\/scim\/v2\/(Users|Groups)/i.exec(path)?.[1]?.toLowerCase();

function conflict(request: LoggedRequest): Explanation {
  const error = request.error ?? "";
  if (/externalId/i.test(error)) {
    return {
      title: "This externalId already belongs to another user",
      whatToDo:
        "The IdP sent an externalId that Rollcall already links to a different person. This usually means two IdP accounts were merged or an account was re-created in the IdP. Find both people under Users, then unassign and reassign the right one in the IdP so it sends its current id.",
    };
  }
  if (resourceOf(request.path) === "groups" || /group named/i.test(error)) {
    return {
      title: "A team with this name already exists",
      whatToDo:
        "The IdP tried to create a group whose name is taken by a team Rollcall already has. In Okta this happens when Push Groups creates a group that Import Groups already brought in: on the Push Groups tab choose \"Link Group\" to the existing group instead of creating it, or rename one of them.",
    };
  }
  return {
    title: "A user with this userName already exists",
    whatToDo:
      "Someone with the same userName is already active here, most often an account created by just-in-time sign-in (SSO) before provisioning was switched on, or one provisioned through another token. Search for the email under Users. Then either remove that account in the application so the IdP can create it, or make the IdP match it: in Okta run Import on the Provisioning tab and confirm the match; in Entra ID make sure the matching attribute (userName) is the same value the account already has.",
  };
}

function badRequest(request: LoggedRequest): Explanation {
  const detail = request.error ?? "the request body was not accepted";
  if (/filter/i.test(detail)) {
    return { title: "The IdP sent a search Rollcall cannot run", whatToDo: `Rollcall said: ${detail}. Filters on userName, externalId, emails and displayName are supported; if the IdP lets you choose the matching attribute, pick one of those.` };
  }
  if (/email/i.test(detail)) {
    return { title: "The user has no usable email", whatToDo: `Rollcall said: ${detail}. Every user needs an email address. In the IdP's attribute mappings, map the user's email to emails[type eq "work"].value (and userName), and make sure the person actually has one.` };
  }
  return { title: "The IdP sent a value Rollcall cannot accept", whatToDo: `Rollcall said: ${detail}. Check the IdP's attribute mappings for the attribute it names; a mapping to a custom attribute the IdP fills with an unexpected type is the usual cause.` };
}

/** Explains a failed request, or undefined for a success. */
export function explainScimRequest(request: LoggedRequest): Explanation | undefined {
  const { status } = request;
  if (status < 400) return undefined;
  if (status === 409) return conflict(request);
  if (status === 400) return badRequest(request);
  if (status === 401) {
    return { title: "The token was not accepted", whatToDo: "The IdP's token is wrong or was revoked. Issue a new token on the Setup page and paste it into the IdP without a \"Bearer \" prefix (Okta and Entra ID add it themselves)." };
  }
  if (status === 404) {
    const resource = resourceOf(request.path) === "groups" ? "group" : "user";
    return {
      title: `The IdP refers to a ${resource} Rollcall does not have`,
      whatToDo: `The IdP remembers a ${resource} id that is unknown here: it was deleted in this application, or it was provisioned with a token of another organization. Unassign and reassign it in the IdP so it is created again (in Entra ID, "Restart provisioning" with "clear current state" does this for everyone).`,
    };
  }
  if (status === 413) return { title: "The request was too large", whatToDo: "A single request carried more data than Rollcall accepts, usually a group with a very large member list in one PATCH. The IdP retries in smaller pieces for most operations; if it keeps failing, push the group again." };
  if (status === 429) return { title: "Rate limited", whatToDo: "The IdP sent requests faster than this organization's limit. It waits for the Retry-After time and retries on its own; nothing is lost. If it happens during every large import, ask the application owner to raise the SCIM rate limit." };
  if (status === 503) return { title: "Rollcall was briefly unavailable", whatToDo: "The database was busy or being updated. IdPs retry such requests on their own; if it persists for more than a few minutes, contact the application's support with the request id." };
  if (status >= 500) return { title: "Rollcall failed to handle this request", whatToDo: "This is a fault on the application's side, not in your IdP setup. The IdP retries it; if it keeps failing, contact the application's support and quote the request id shown here." };
  return { title: `The request was refused (${status})`, whatToDo: request.error ? `Rollcall said: ${request.error}` : "Check the IdP's provisioning settings for this operation." };
}
