package dev.deepgemm4j;

/**
 * Bad input to a deepgemm4j operation, detected before any work starts. The message names the argument and the
 * rule it breaks, e.g. {@code "sfa: shape must be [M, ceil(K/128)] = [256, 2], got [256, 3]"}.
 */
public class DeepGemmArgumentException extends IllegalArgumentException {

    private final String argument;
    private final String rule;

    /**
     * @param argument the argument's name as it appears in the API ({@code "a"}, {@code "sfb"}, {@code "masked_m"})
     * @param rule what the argument must satisfy, with the offending values
     */
    public DeepGemmArgumentException(String argument, String rule) {
        super(argument + ": " + rule);
        this.argument = argument;
        this.rule = rule;
    }

    /** The name of the offending argument. */
    public String argument() {
        return argument;
    }

    /** The rule that was broken, with the offending values. */
    public String rule() {
        return rule;
    }
}
