class Typed {
  static String code(bb.model.ErrorEnvelope e) {
    return e.getError().getCode();
  }
}
