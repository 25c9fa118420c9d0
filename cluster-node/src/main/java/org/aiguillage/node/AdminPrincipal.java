package org.aiguillage.node;

/**
 * Who makes an admin request: the federation's admin (the admin token: everything), or the admin of one
 * organisation (a key made with {@code admin_of}, or an OIDC token with the issuer's admin role): its keys, its
 * servers, its usage and its audit entries; anything of another organisation is 404 to it, and what belongs to the
 * whole federation (models, organisations' limits, the configuration, the cluster) is 403.
 *
 * @param who how the audit log names it: {@code admin}, or the key's name and id
 * @param organization null for the federation's admin
 */
record AdminPrincipal(String who, String organization) {

  static final AdminPrincipal FEDERATION = new AdminPrincipal("admin", null);

  boolean federation() {
    return organization == null;
  }

  /** Whether it may see or change what belongs to {@code owner}. */
  boolean covers(String owner) {
    return organization == null || organization.equals(owner);
  }
}
