package crypto

import (
	"errors"
	"testing"
)

// TestAnswerSetup covers RFC 5763 §5 from the answerer's side.
func TestAnswerSetup(t *testing.T) {
	tests := []struct {
		offer      string
		wantAnswer string
		wantRole   Role
		wantErr    bool
	}{
		{"actpass", "active", RoleClient, false},
		{"active", "passive", RoleServer, false},
		{"passive", "active", RoleClient, false},
		{" ACTPASS ", "active", RoleClient, false},
		{"", "passive", RoleServer, false}, // absent: offer defaults to active (RFC 4145 §4)
		{"holdconn", "", 0, true},
		{"bogus", "", 0, true},
		{"act pass", "", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.offer, func(t *testing.T) {
			ans, role, err := AnswerSetup(tc.offer)
			if tc.wantErr {
				if !errors.Is(err, ErrSetup) {
					t.Fatalf("err = %v, want ErrSetup", err)
				}
				return
			}
			if err != nil || ans != tc.wantAnswer || role != tc.wantRole {
				t.Fatalf("got (%q, %v, %v), want (%q, %v)", ans, role, err, tc.wantAnswer, tc.wantRole)
			}
			if role.Setup() != ans {
				t.Fatalf("Role.Setup() = %q disagrees with answer %q", role.Setup(), ans)
			}
		})
	}
}

// TestOffererRole covers RFC 5763 §5 from the offerer's side (we offered actpass).
func TestOffererRole(t *testing.T) {
	tests := []struct {
		answer  string
		want    Role
		wantErr bool
	}{
		{"active", RoleServer, false},
		{"passive", RoleClient, false},
		{"Passive", RoleClient, false},
		{"", RoleClient, false}, // absent: answer defaults to passive (RFC 4145 §4)
		{"actpass", 0, true},
		{"holdconn", 0, true},
		{"xyz", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.answer, func(t *testing.T) {
			role, err := OffererRole(tc.answer)
			if tc.wantErr {
				if !errors.Is(err, ErrSetup) {
					t.Fatalf("err = %v, want ErrSetup", err)
				}
				return
			}
			if err != nil || role != tc.want {
				t.Fatalf("got %v, %v; want %v", role, err, tc.want)
			}
		})
	}
}

// TestRolesComplement: whatever the offer, the answerer's role and the offerer's role
// derived from that answer are opposite, so exactly one side sends the ClientHello.
func TestRolesComplement(t *testing.T) {
	ans, answererRole, err := AnswerSetup(SetupActpass)
	if err != nil {
		t.Fatal(err)
	}
	offererRole, err := OffererRole(ans)
	if err != nil {
		t.Fatal(err)
	}
	if answererRole == offererRole {
		t.Fatalf("both sides are %v", answererRole)
	}
	if RoleClient.String() != "client" || RoleServer.String() != "server" || Role(9).String() == "" {
		t.Fatal("Role.String")
	}
}
