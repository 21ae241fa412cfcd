import { html, type SafeHtml } from "../html.ts";

/**
 * Setup guides per IdP, written from the vendors' own documentation of their SCIM clients. Each
 * names the screens and fields as the vendor labels them, and the traps admins fall into.
 */
export type Guide = {
  id: "okta" | "entra" | "onelogin" | "jumpcloud" | "google";
  name: string;
  summary: string;
  steps: (endpointUrl: string) => SafeHtml[];
  traps: Array<{ title: string; body: SafeHtml }>;
};

const b = (text: string) => html`<strong>${text}</strong>`;
const code = (text: string) => html`<code>${text}</code>`;

export const GUIDES: Guide[] = [
  {
    id: "okta",
    name: "Okta",
    summary: "An app integration with SCIM provisioning: assignments create users, Push Groups creates teams.",
    steps: (url) => [
      html`In the Okta Admin Console open ${b("Applications → Applications")} and either add this application from the catalog or choose ${b("Create App Integration")} (SAML 2.0 or OIDC), then on its ${b("General")} tab set ${b("Provisioning")} to ${b("SCIM")}.`,
      html`Open the new ${b("Provisioning")} tab, choose ${b("Integration → Edit")}. Set ${b("SCIM connector base URL")} to ${code(url)} and ${b("Unique identifier field for users")} to ${code("userName")}.`,
      html`Tick the ${b("Supported provisioning actions")}: Push New Users, Push Profile Updates and Push Groups (Import New Users and Profile Updates only if you need it, see below).`,
      html`Set ${b("Authentication Mode")} to ${b("HTTP Header")} and paste a token from this page into ${b("Authorization")}: the token alone, starting with ${code("scim_")}; Okta adds ${code("Bearer ")} itself.`,
      html`Click ${b("Test Connector Configuration")}. A green result lists the features Okta detected; then ${b("Save")}. The request appears in this portal's Request log.`,
      html`Under ${b("Provisioning → To App")} click ${b("Edit")} and enable ${b("Create Users")}, ${b("Update User Attributes")} and ${b("Deactivate Users")}.`,
      html`On ${b("Assignments")}, assign people or groups: each assigned person is created here. On ${b("Push Groups")}, push the groups that should become teams.`,
    ],
    traps: [
      { title: "Assignments are not Push Groups", body: html`Assigning a group on the ${b("Assignments")} tab only provisions its members as users; no team is created. Teams come only from ${b("Push Groups")}. Okta does not support using the same group for both: use one group to assign the app and a separate push group for team membership. Members of a pushed group must also be assigned, or they are never created here (Rollcall keeps such memberships pending and reports them if the person never arrives).` },
      { title: "Import Groups links existing teams", body: html`With ${b("Import Groups")} enabled Okta reads the teams Rollcall already has. Pushing an Okta group with the same name then fails with 409 "A group named … already exists" unless you choose ${b("Link Group")} on the Push Groups tab. Leave Import Groups off unless you are adopting existing teams.` },
      { title: "Test Connector Configuration answers 401", body: html`The token was pasted with a ${code("Bearer ")} prefix (Okta sends ${code("Bearer Bearer …")}), it was revoked, or it has a trailing space. A 401 never reaches this organization's Request log, because Rollcall cannot tell which organization a wrong token belongs to: if the log stays empty while Okta reports 401, issue a new token and paste it alone.` },
      { title: "Suspending a user sends nothing", body: html`Okta sends no SCIM request when a user is suspended, or deactivated without being unassigned. Unassign the app, or run a reconciliation to see who is still active here.` },
    ],
  },
  {
    id: "entra",
    name: "Microsoft Entra ID",
    summary: "An enterprise application with automatic provisioning; Entra ID syncs on a cycle of about 40 minutes.",
    steps: (url) => [
      html`In the Microsoft Entra admin center open ${b("Enterprise applications → New application → Create your own application")} and choose ${b("Integrate any other application you don't find in the gallery (Non-gallery)")}.`,
      html`In the application open ${b("Provisioning")}, choose ${b("Get started")} (or ${b("New configuration")}) and set ${b("Provisioning Mode")} to ${b("Automatic")}.`,
      html`Under ${b("Admin Credentials")} set ${b("Tenant URL")} to ${code(url)} and ${b("Secret Token")} to a token from this page (the token alone, starting with ${code("scim_")}).`,
      html`Click ${b("Test Connection")}. Entra ID looks up a random userName; Rollcall answers with an empty list, which Entra ID reports as success.`,
      html`Under ${b("Mappings")} check ${b("Provision Microsoft Entra ID Users")}: ${code("userPrincipalName")} → ${code("userName")} and ${code("mail")} → ${code('emails[type eq "work"].value')}. Leave ${b("Provision Microsoft Entra ID Groups")} enabled if groups should become teams.`,
      html`Under ${b("Settings")} keep ${b("Scope")} at ${b("Sync only assigned users and groups")}, then assign people and groups under ${b("Users and groups")}.`,
      html`Set ${b("Provisioning Status")} to ${b("On")} and save. Use ${b("Provision on demand")} to send one person right away instead of waiting for the cycle.`,
    ],
    traps: [
      { title: "Test Connection fails with 401", body: html`The Secret Token is wrong, revoked or has a space around it. Like any wrong token, it never shows up in this organization's Request log. Issue a new token, paste it alone, test again.` },
      { title: "Nothing arrives after saving", body: html`Entra ID provisions only assigned users and groups in the default scope, and only on its next cycle (about every 40 minutes). Check the assignments, then use ${b("Provision on demand")} or ${b("Restart provisioning")}.` },
      { title: "Quarantine", body: html`After repeated failures Entra ID puts the job in quarantine and slows down. Fix the cause shown in the Request log, then restart provisioning.` },
    ],
  },
  {
    id: "onelogin",
    name: "OneLogin",
    summary: "The SCIM Provisioner connector; team memberships come from a \"Set Groups\" rule, not from roles alone.",
    steps: (url) => [
      html`In OneLogin open ${b("Applications → Add App")} and add ${b("SCIM Provisioner with SAML (SCIM v2 Enterprise)")}.`,
      html`On ${b("Configuration")} set ${b("SCIM Base URL")} to ${code(url)} and ${b("SCIM Bearer Token")} to a token from this page, save, then click ${b("Enable")} under ${b("API Connection")}.`,
      html`On ${b("Provisioning")} tick ${b("Enable provisioning")} and choose what happens when a user is deleted or loses the app (Delete or Suspend).`,
      html`On ${b("Parameters")} open ${b("Groups")} and tick ${b("Include in User Provisioning")}.`,
      html`On ${b("Rules")} add a rule with the action ${b("Set Groups in")} this app, mapping from your OneLogin roles or a user attribute, so each user carries its groups.`,
      html`On ${b("Access")} (or in ${b("Users → Roles")}) give the app to the roles whose members should be provisioned.`,
    ],
    traps: [
      { title: "Admin approvals hold every change", body: html`The Provisioning tab's ${b("Require admin approval before this action is performed")} boxes (create, delete, update) are ticked by default: OneLogin queues each change under ${b("Users → Provisioning")} until someone approves it, and nothing reaches Rollcall meanwhile. Untick them, or approve the queue.` },
      { title: "No \"Set Groups\" rule, no teams", body: html`OneLogin sends team membership as a ${code("groups")} list on the user, and only when a ${b("Set Groups in")} rule fills it. Without the rule every user arrives with no teams.` },
      { title: "Deleting a role sends nothing", body: html`Removing a role in OneLogin does not update the users' groups here until each user is next provisioned. Run a reconciliation to find the difference.` },
    ],
  },
  {
    id: "jumpcloud",
    name: "JumpCloud",
    summary: "SCIM is configured on a SAML application's Identity Management tab; bound user groups become teams.",
    steps: (url) => [
      html`In the JumpCloud Admin Portal open ${b("SSO Applications")} and add this application (or a ${b("Custom SAML App")}); JumpCloud offers SCIM only on an SSO application.`,
      html`Open the application's ${b("Identity Management")} tab and choose ${b("SCIM 2.0")} as the API type.`,
      html`Set ${b("Base URL")} to ${code(url)} and ${b("Token Key")} to a token from this page (the token alone), then click ${b("Test Connection")}.`,
      html`Enable ${b("Group Management")} if user groups bound to the app should become teams, then ${b("Activate")} and save.`,
      html`Bind user groups to the application on its ${b("User Groups")} tab: their members are provisioned.`,
    ],
    traps: [
      { title: "Only bound groups count", body: html`Users are provisioned through the user groups bound to the application, not one by one. A user outside every bound group is never created here.` },
      { title: "Test Connection fails", body: html`A wrong or revoked token gives 401 and, like every wrong token, no entry in the Request log. Paste a fresh token without a prefix.` },
    ],
  },
  {
    id: "google",
    name: "Google Workspace",
    summary: "Google Workspace pushes SCIM only to applications in its own catalog; for others, read the directory instead.",
    steps: (url) => [
      html`In the Google Admin console, open ${b("Apps → Web and mobile apps")}. If this application appears in Google's catalog with ${b("Auto-provisioning")}, open it, choose ${b("Configure auto-provisioning")} and enter ${code(url)} and a token from this page when asked.`,
      html`Map at least ${b("Primary email")} to ${code("userName")} and to the work email, choose the groups in scope, and turn auto-provisioning ${b("On")}.`,
      html`If the application is a custom SAML app in your console, Google Workspace cannot push SCIM to it: there is no provisioning setting for custom apps. Provision through Okta or Entra ID federated with Google, or use a directory connection (see the Directory section).`,
    ],
    traps: [
      { title: "Custom SAML apps have no auto-provisioning", body: html`Google offers provisioning only for catalog applications it has integrated. A custom app gets single sign-on but no users pushed here; nothing appears in the Request log because Google sends nothing.` },
      { title: "Suspended users", body: html`Suspending a user in Google Workspace deactivates them here only if the catalog integration sends it; check Connection health after the first suspension.` },
    ],
  },
];

/** The guide with this id, if any. */
export function findGuide(id: string): Guide | undefined {
  return GUIDES.find((g) => g.id === id);
}
