/**
 * Shared data for the SCIM filter tests: the filter examples of RFC 7644 §3.4.2.2 and a user
 * shaped like the RFC 7643 §8.2 example, in the canonical form stored in `scim_resource`.
 */
export const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User";

/** Every filter example of RFC 7644 §3.4.2.2, with whether it matches `bjensen` below. */
export const RFC_FILTER_EXAMPLES: ReadonlyArray<{ filter: string; matchesBjensen: boolean }> = [
  { filter: 'userName eq "bjensen"', matchesBjensen: true },
  { filter: 'name.familyName co "O\'Malley"', matchesBjensen: true },
  { filter: 'userName sw "J"', matchesBjensen: false },
  { filter: 'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', matchesBjensen: false },
  { filter: "title pr", matchesBjensen: true },
  { filter: 'meta.lastModified gt "2011-05-13T04:42:34Z"', matchesBjensen: false },
  { filter: 'meta.lastModified ge "2011-05-13T04:42:34Z"', matchesBjensen: true },
  { filter: 'meta.lastModified lt "2011-05-13T04:42:34Z"', matchesBjensen: false },
  { filter: 'meta.lastModified le "2011-05-13T04:42:34Z"', matchesBjensen: true },
  { filter: 'title pr and userType eq "Employee"', matchesBjensen: true },
  { filter: 'title pr or userType eq "Intern"', matchesBjensen: true },
  { filter: 'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"', matchesBjensen: true },
  { filter: 'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', matchesBjensen: true },
  { filter: 'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', matchesBjensen: false },
  { filter: 'userType eq "Employee" and (emails.type eq "work")', matchesBjensen: true },
  { filter: 'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', matchesBjensen: true },
  { filter: 'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]', matchesBjensen: true },
];

/** The RFC's Barbara Jensen, as a canonical stored resource with its meta timestamps. */
export function bjensen(): Record<string, unknown> {
  return {
    schemas: [CORE_USER, ENTERPRISE],
    id: "user_bjensen",
    externalId: "bjensen",
    userName: "bjensen",
    name: { formatted: "Ms. Barbara J Jensen, III", familyName: "O'Malley", givenName: "Barbara" },
    title: "Tour Guide",
    userType: "Employee",
    active: true,
    emails: [
      { value: "bjensen@example.com", type: "work", primary: true },
      { value: "babs@jensen.org", type: "home" },
    ],
    ims: [{ value: "someaimhandle", type: "aim" }],
    [ENTERPRISE]: { department: "Tour Operations", manager: { value: "user_boss" } },
    meta: { created: "2010-01-23T04:56:22Z", lastModified: "2011-05-13T04:42:34Z" },
  };
}
