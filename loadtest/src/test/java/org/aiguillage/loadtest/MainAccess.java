package org.aiguillage.loadtest;

/** The command line for tests in other packages. */
public final class MainAccess {

  private MainAccess() {}

  public static int execute(String... args) {
    return Main.execute(args);
  }
}
